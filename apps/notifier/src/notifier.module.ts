import { Module } from '@nestjs/common';
import { DestinationsModule } from '@klaxon/destinations';
import { DeliverNotificationProcessor } from './deliver-notification/deliver-notification.processor';

/** Workers for `deliver.*`, one queue per destination type. */
@Module({ imports: [DestinationsModule], providers: [DeliverNotificationProcessor] })
export class NotifierModule {}
