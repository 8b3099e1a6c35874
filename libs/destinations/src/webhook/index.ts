export { WebhookDestination, signBody, SIGNATURE_HEADER, IDEMPOTENCY_HEADER, type WebhookPayload } from './webhook.destination';
export * from './config';
