import type { NodePlopAPI } from 'plop'
import { channelGenerator } from './generators/channel/channel-generator.js'
import { notificationGenerator } from './generators/notification/notification-generator.js'

/** Registers the project's generators: `npx plop channel` and `npx plop notification` (docs/generators.md). */
export default function plopfile(plop: NodePlopAPI): void {
  plop.setGenerator('channel', channelGenerator(plop))
  plop.setGenerator('notification', notificationGenerator(plop))
}
