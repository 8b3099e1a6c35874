import { Module } from '@nestjs/common';
import { InputIntake, Runtime } from '@klaxon/platform';
import { parseInput } from './registry';
import type { SourceMeta } from './source';

const intake = {
  provide: InputIntake,
  // The intake checks an input with the parsers it will be ingested with, so a broken one is answered now.
  useFactory: (runtime: Runtime) =>
    new InputIntake(runtime, (raw, format, meta) => {
      const input = parseInput(raw, format, meta as SourceMeta);
      return { format: input.format, parsed: input, findings: input.batch.findings.length };
    }),
  inject: [Runtime],
};

/** The one intake every input goes through (gateway uploads and webhooks, collector pulls and watches). */
@Module({ providers: [intake], exports: [InputIntake] })
export class SourcesModule {}
