import { Module } from '@nestjs/common';
import { DeliverNotificationProcessor } from './deliver-notification/deliver-notification.processor';

/** Workers for `deliver.*`, one queue per destination type. */
@Module({ providers: [DeliverNotificationProcessor] })
export class NotifierModule {}
