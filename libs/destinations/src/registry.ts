import type { DestinationConfig, DestinationTypes } from '@klaxon/platform';
import type { DeliveryLimits, Destination, DestinationDescriptor } from './destination';
import * as registered from './registered';
import { shortenNotification, type Notification } from '@klaxon/routing';

/** Destination type → its descriptor, from `registered.ts`. */
const DESCRIPTORS: ReadonlyMap<string, DestinationDescriptor> = (() => {
  const byType = new Map<string, DestinationDescriptor>();
  for (const descriptor of Object.values(registered) as unknown as DestinationDescriptor[]) {
    if (byType.has(descriptor.type)) throw new Error(`destination type "${descriptor.type}" is registered twice`);
    byType.set(descriptor.type, descriptor);
  }
  return byType;
})();

/** What the config parser checks `destinations:` with (platform's `parseConfig` takes it). */
export const DESTINATION_TYPES: DestinationTypes = Object.fromEntries(DESCRIPTORS);

export function supportedDestinationTypes(): string[] {
  return [...DESCRIPTORS.keys()];
}

function descriptorOf(type: string): DestinationDescriptor {
  const descriptor = DESCRIPTORS.get(type);
  if (!descriptor) throw new Error(`destination type "${type}" is not supported (supported: ${supportedDestinationTypes().join(', ')})`);
  return descriptor;
}

/** The sender of a destination parsed by `parseConfig` (its type's schema filled its defaults). */
export function createDestination(config: DestinationConfig): Destination {
  return descriptorOf(config.type).create(config);
}

/** How a destination's queue is worked: the configured (or its type's default) rate limit, its type's concurrency. */
export function deliveryLimits(config: DestinationConfig): DeliveryLimits {
  return { rateLimit: config.rateLimit, concurrency: descriptorOf(config.type).defaultLimits.concurrency };
}

/** Whether a destination's messages list every open finding of a group (see DestinationDescriptor.listsEveryOpenFinding). */
export function listsEveryOpenFinding(config: DestinationConfig): boolean {
  return descriptorOf(config.type).listsEveryOpenFinding === true;
}

/** A notification as one destination is sent it: cut to the records its message can show (DestinationDescriptor.shows). */
export function notificationFor(config: DestinationConfig, notification: Notification): Notification {
  const shows = descriptorOf(config.type).shows;
  return shows ? shortenNotification(notification, shows) : notification;
}

/** A type's own limits, before any `rateLimit` of the config. */
export function defaultDeliveryLimits(type: string): DeliveryLimits {
  return descriptorOf(type).defaultLimits;
}
