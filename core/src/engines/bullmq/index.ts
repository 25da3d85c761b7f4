/** @switchboard/core/bullmq — redelivery checks of at-least-once channels on BullMQ. */
export { BullmqRedeliveryQueue, redeliveryJobId } from './bullmq-redelivery-queue.js'
export type { BullmqRedeliveryQueueOptions } from './bullmq-redelivery-queue.js'
