/** @switchboard/core/bullmq — redelivery checks of at-least-once channels, and the retention schedule, on BullMQ. */
export { BullmqRedeliveryQueue, redeliveryJobId } from './bullmq-redelivery-queue.js'
export type { BullmqRedeliveryQueueOptions } from './bullmq-redelivery-queue.js'
export { BullmqRetentionScheduler, RETENTION_SCHEDULER_ID } from './bullmq-retention-scheduler.js'
export type { BullmqRetentionSchedulerOptions } from './bullmq-retention-scheduler.js'
