import { Module } from '@nestjs/common';
import { DestinationsModule } from '@klaxon/destinations';
import { TriageModule } from '@klaxon/triage';
import { GateService } from './gate.service';

/** The CI gate over triage's stores, publishing check runs through the configured GitHub destination. */
@Module({ imports: [TriageModule, DestinationsModule], providers: [GateService], exports: [GateService] })
export class GateModule {}
