import { Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { EventsController } from './events/events.controller';
import { ExceptionsController } from './exceptions/exceptions.controller';
import { FindingsController } from './findings/findings.controller';
import { GateController } from './gate/gate.controller';
import { HealthController } from './health/health.controller';
import { ApiTokenGuard } from './http/api-token.guard';
import { BodyErrorFilter } from './http/body-error.filter';
import { IntakeService } from './reports/intake.service';
import { ReportsController } from './reports/reports.controller';
import { RiskController } from './risk/risk.controller';
import { RoutesController } from './routes/routes.controller';
import { SuggestionsController } from './suggestions/suggestions.controller';
import { WebhooksController } from './webhooks/webhooks.controller';
import { Runtime, StatsRepository } from '@klaxon/platform';
import { ComplianceRepository, FindingRepository } from '@klaxon/triage';
import { ComplianceController } from './compliance/compliance.controller';
import { OverviewController } from './overview/overview.controller';
import { SessionController } from './ui/session.controller';
import { SessionRepository } from './ui/session.repository';

/** Repositories on the process's Redis and key prefix. */
const repository = <T>(type: new (redis: Runtime['redis'], prefix: string) => T) => ({
  provide: type,
  useFactory: (runtime: Runtime) => new type(runtime.redis, runtime.prefix),
  inject: [Runtime],
});

@Module({
  controllers: [ReportsController, WebhooksController, EventsController, HealthController, FindingsController, ExceptionsController, RoutesController, RiskController, GateController, SuggestionsController, OverviewController, ComplianceController, SessionController],
  providers: [
    repository(SessionRepository),
    repository(StatsRepository),
    repository(FindingRepository),
    repository(ComplianceRepository),
    IntakeService,
    { provide: APP_GUARD, useClass: ApiTokenGuard },
    { provide: APP_FILTER, useClass: BodyErrorFilter },
  ],
  exports: [IntakeService],
})
export class GatewayModule {}
