import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';

/** Prometheus metrics of one process; queue depths are read from Redis at scrape time. */
export class Metrics {
  readonly registry = new Registry();
  readonly inputs: Counter<'integration' | 'outcome'>;

  constructor(queues: () => Queue[]) {
    collectDefaultMetrics({ register: this.registry, prefix: 'klaxon_' });
    this.inputs = new Counter({
      name: 'klaxon_inputs_total',
      help: 'Raw inputs received, by integration and outcome (accepted, quarantined, ignored)',
      labelNames: ['integration', 'outcome'],
      registers: [this.registry],
    });
    new Gauge({
      name: 'klaxon_queue_jobs',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'],
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const queue of queues()) {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
          for (const [state, n] of Object.entries(counts)) this.set({ queue: queue.name, state }, n);
        }
      },
    });
  }
}
