import { createOutboxRelay, type OutboxRelay, tableOutbox } from '@cads/consumer';
import type { Message } from '@cads/messaging';
import type { SagaMap, SagaStatus } from '@cads/saga';
import {
  countDueDeadlines,
  createService,
  type Service,
  type ServiceDefinition,
} from '@cads/service';
import type { Database } from '@cads/storage';
import { openPglite } from '@cads/storage-pglite';
import fc from 'fast-check';
import { pino } from 'pino';
import { type CrashableDatabase, crashableDatabase } from './crashable-database.ts';
import {
  type ExternalEffect,
  type SagaObservation,
  type StepOutcomes,
  sagaViolations,
} from './invariants.ts';
import { type Fault, type Scenario, scenarios } from './scenario.ts';
import { createScriptedBroker, type ScriptedBroker } from './scripted-broker.ts';

/** A service the kit runs: built with `createService`, on its own schema of the kit's PGlite. */
export interface KitService {
  readonly service: Service;
  readonly db: Database;
  /** Where it listens, when it was asked to. */
  readonly url: string | undefined;
}

/** What the kit gives the system under test. */
export interface PropertySystem {
  /**
   * Builds, starts and (with `listen`) serves a service exactly as in production, but on the
   * kit's scripted broker and a database the kit can crash. Start the external systems' mock
   * first (the steps need its URL), the tracker last.
   */
  run(definition: ServiceDefinition, options?: { readonly listen?: boolean }): Promise<KitService>;
  /**
   * The scenario's clock (ms): give it to the tracker's deadlines (`sagaDeadlines`' `now`).
   * It is the system clock until a scenario lets time pass; then it jumps past every deadline.
   */
  readonly now: () => number;
  /** How often the tracker should look for due deadlines (`sagaDeadlines`' `pollMs`). */
  readonly pollMs: number;
}

/** How the kit drives the system under test: the only code a saga's author writes for it. */
export interface SagaFixture {
  /**
   * Starts one saga (through its tracker's API, as a user would) whose steps' external systems
   * answer as `outcomes` says, and resolves to its id (the map's key).
   */
  start(outcomes: StepOutcomes): Promise<string>;
  /** The saga's status as its tracker reports it. */
  status(sagaId: string): Promise<SagaStatus>;
  /** What the external systems did for the saga, in order, undone effects included. */
  effects(sagaId: string): Promise<readonly ExternalEffect[]>;
}

export interface SagaPropertyOptions {
  readonly map: SagaMap;
  /** Builds the system under test on the kit's runtime and says how to drive it. Called once. */
  readonly open: (system: PropertySystem) => Promise<SagaFixture>;
  /** Scenarios to run. When absent, `CADS_PROPERTY_RUNS`, else 100. */
  readonly runs?: number;
  /**
   * The seed: the same seed runs the same scenarios. When absent, `CADS_PROPERTY_SEED`
   * (`random` for a new one each run), else a fixed one, so CI is repeatable.
   */
  readonly seed?: number;
  /** With the seed, replays one failing scenario (`CADS_PROPERTY_PATH` overrides). */
  readonly path?: string;
  /** Sagas per scenario, at most. Default 3. */
  readonly maxSagas?: number;
  /** Scheduled deliveries per scenario, at most (then oldest first). Default 60. */
  readonly maxSchedule?: number;
  /** Look for the smallest failing scenario before reporting. Default true. */
  readonly shrink?: boolean;
}

/** What the runs covered: a test can check that the scenarios explored what they should. */
export interface PropertyCoverage {
  readonly seed: number;
  readonly scenarios: number;
  readonly sagas: number;
  readonly deliveries: number;
  readonly faults: Readonly<Record<Fault, number>>;
  readonly endings: Readonly<Record<'completed' | 'failed' | 'timedOut', number>>;
}

export const defaultSeed = 20_261_207;

/**
 * The property-based saga test: runs generated scenarios on the saga's real services, each
 * until quiescent, and checks after each that every saga holds the universal invariants (see
 * `sagaViolations`), that nothing was dead-lettered and that no service logged an error.
 *
 * A scenario starts up to `maxSagas` sagas, each step answering accept or refuse; then it
 * hands queued deliveries to services one at a time in a generated sequence (any one: across
 * types, keys and services), with generated faults (an ack lost, a crash before a commit, an
 * event emitted twice), and may let time pass every deadline at a generated point. Every
 * delivery is settled and every outbox flushed before the next choice, so a seed replays the
 * same scenario the same way.
 *
 * On failure it throws an error naming the broken invariants, the scenario, its trace and the
 * seed and path that replay it. Resolves to what the runs covered.
 */
export async function checkSagaProperties(options: SagaPropertyOptions): Promise<PropertyCoverage> {
  const seed = seedOf(options.seed);
  const path = process.env.CADS_PROPERTY_PATH ?? options.path;
  const runs = options.runs ?? Number(process.env.CADS_PROPERTY_RUNS ?? 100);
  const kit = await openKit(options);
  const coverage = {
    seed,
    scenarios: 0,
    sagas: 0,
    deliveries: 0,
    faults: { 'ack-lost': 0, crash: 0, republish: 0 },
    endings: { completed: 0, failed: 0, timedOut: 0 },
  };
  try {
    const property = fc.asyncProperty(
      scenarios(options.map, {
        maxSagas: options.maxSagas ?? 3,
        maxSchedule: options.maxSchedule ?? 60,
      }),
      async (scenario) => {
        const run = await kit.run(scenario);
        coverage.scenarios += 1;
        coverage.sagas += run.sagas.length;
        coverage.deliveries += run.deliveries;
        for (const fault of run.faults) coverage.faults[fault] += 1;
        for (const saga of run.sagas) {
          const progress = options.map.track(saga.events);
          if (progress.timedOut) coverage.endings.timedOut += 1;
          else if (progress.status === 'completed') coverage.endings.completed += 1;
          else if (progress.status === 'failed') coverage.endings.failed += 1;
        }
        if (run.violations.length > 0) throw new PropertyViolation(run);
      },
    );
    const details = await fc.check(property, {
      seed,
      numRuns: runs,
      ...(path === undefined ? {} : { path }),
      endOnFailure: options.shrink === false,
    });
    if (details.failed) {
      const found = details.errorInstance;
      const report = found instanceof PropertyViolation ? found.message : String(found);
      throw new Error(
        `saga ${options.map.name}: a property does not hold (after ${details.numRuns} scenarios, ${details.numShrinks} shrinks)\n${report}\n` +
          `Replay it: CADS_PROPERTY_SEED=${details.seed} CADS_PROPERTY_PATH=${details.counterexamplePath ?? ''} npx vitest run <this test file>`,
        { cause: found },
      );
    }
    return coverage;
  } finally {
    await kit.close();
  }
}

/** The test's own seed; else `CADS_PROPERTY_SEED` (`random`: a new one); else the default. */
function seedOf(pinned: number | undefined): number {
  if (pinned !== undefined) return pinned;
  const fromEnv = process.env.CADS_PROPERTY_SEED;
  if (fromEnv === 'random') return Math.floor(Math.random() * 2 ** 31);
  if (fromEnv !== undefined && fromEnv !== '') return Number(fromEnv);
  return defaultSeed;
}

/** What one scenario did and found. */
interface ScenarioRun {
  readonly scenario: Scenario;
  readonly sagas: readonly SagaObservation[];
  readonly deliveries: number;
  readonly faults: readonly Fault[];
  readonly trace: readonly string[];
  readonly violations: readonly string[];
}

class PropertyViolation extends Error {
  constructor(run: ScenarioRun) {
    super(
      [
        'broken:',
        ...run.violations.map((violation) => `  - ${violation}`),
        'scenario:',
        ...run.sagas.map(
          (saga) =>
            `  ${saga.label} (${saga.sagaId}): ${Object.entries(saga.outcomes)
              .map(([step, outcome]) => `${step} ${outcome}`)
              .join(', ')}`,
        ),
        'trace:',
        ...run.trace.map((line) => `  ${line}`),
      ].join('\n'),
    );
    this.name = 'PropertyViolation';
  }
}

/** Deliveries per scenario before it counts as never quiescing (a livelock). */
const deliveryLimit = 2_000;

interface RunningEntry {
  readonly service: Service;
  readonly db: Database;
  readonly crashable: CrashableDatabase;
  readonly relay: OutboxRelay;
}

/** The system under test on the kit's runtime, and how to run one scenario on it. */
async function openKit(options: SagaPropertyOptions) {
  const { map } = options;
  const host = await openPglite();
  const broker: ScriptedBroker = createScriptedBroker();
  const errors: string[] = [];
  // Only errors are kept: a service logging one while the scenario holds is a finding.
  const logger = pino({ level: 'error' }, { write: (line: string) => void errors.push(line) });
  const running = new Map<string, RunningEntry>();
  let clockOffsetMs = 0;

  const system: PropertySystem = {
    now: () => Date.now() + clockOffsetMs,
    pollMs: 5,
    async run(definition, { listen = false } = {}) {
      const db = await host.database(definition.name);
      const crashable = crashableDatabase(db, definition.name);
      // The kit publishes every outbox itself, after each delivery: no relay runs behind it.
      const service = await createService(definition, {
        db: crashable.db,
        broker,
        logger,
        outbox: tableOutbox(),
      });
      await service.start();
      running.set(definition.name, {
        service,
        db,
        crashable,
        relay: createOutboxRelay({ db, broker, source: definition.name }),
      });
      const url = listen ? await service.app.listen({ host: '127.0.0.1', port: 0 }) : undefined;
      return { service, db, url };
    },
  };

  let fixture: SagaFixture;
  const close = async () => {
    for (const entry of [...running.values()].reverse()) await entry.service.stop();
    await broker.close();
    await host.close();
  };
  try {
    fixture = await options.open(system);
  } catch (error) {
    await close();
    throw error;
  }

  /** Publishes the outboxes: every service's, or only that of the one that handled a delivery. */
  const flush = async (only?: RunningEntry) => {
    for (const entry of only ? [only] : running.values()) await entry.relay.flush();
  };

  /** Lets time pass every deadline, and waits until the trackers have fired what was due. */
  const passTime = async (): Promise<string | undefined> => {
    clockOffsetMs = 10 * 365 * 24 * 3_600_000;
    const dueAt = new Date(system.now());
    const started = Date.now();
    for (const [name, entry] of running) {
      for (;;) {
        const due = await countDueDeadlines(entry.db, dueAt);
        if (!due) break;
        if (Date.now() - started > 15_000) return `${name} did not fire its due deadlines`;
        await new Promise((resolve) => setTimeout(resolve, system.pollMs));
      }
    }
    await flush();
    return undefined;
  };

  const run = async (scenario: Scenario): Promise<ScenarioRun> => {
    clockOffsetMs = 0;
    errors.length = 0;
    broker.reset();
    const trace: string[] = [];
    const violations: string[] = [];
    const faultsDone: Fault[] = [];
    const labels = new Map<string, string>();
    const started: { sagaId: string; label: string; outcomes: StepOutcomes }[] = [];
    for (const [index, outcomes] of scenario.sagas.entries()) {
      const sagaId = await fixture.start(outcomes);
      const label = `saga ${index + 1}`;
      labels.set(sagaId, label);
      started.push({ sagaId, label, outcomes });
      trace.push(`start ${label}`);
      await flush();
    }
    const nameOf = (message: Message) => {
      const key = (message.data as Record<string, unknown> | null)?.[map.key];
      return `${message.type} of ${labels.get(String(key)) ?? String(key)}`;
    };

    const faultCount = new Map<string, number>();
    let timePassed = false;
    let deliveries = 0;
    for (; broker.queue.length > 0; deliveries++) {
      if (
        !timePassed &&
        scenario.timePassesAt !== undefined &&
        deliveries >= scenario.timePassesAt
      ) {
        timePassed = true;
        trace.push('time passes every deadline');
        const stuck = await passTime();
        if (stuck) violations.push(stuck);
        if (broker.queue.length === 0) break;
      }
      if (deliveries >= deliveryLimit) {
        violations.push(`not quiescent after ${deliveryLimit} deliveries (a livelock?)`);
        break;
      }
      const choice = scenario.schedule[deliveries] ?? { pick: 0 };
      const index = choice.pick % broker.queue.length;
      const queued = broker.queue[index]!;
      // At most two faults per message and subscriber: a message that fails on every
      // delivery is not a scenario a real system meets, and would only spend its attempts.
      const faultKey = `${queued.subscriber}/${queued.message.id}`;
      const fault =
        choice.fault !== undefined && (faultCount.get(faultKey) ?? 0) < 2
          ? choice.fault
          : undefined;
      if (fault) {
        faultCount.set(faultKey, (faultCount.get(faultKey) ?? 0) + 1);
        faultsDone.push(fault);
      }
      const target = running.get(queued.subscriber);
      if (fault === 'republish') broker.republish(queued.message);
      if (fault === 'crash') target?.crashable.crash();
      const settlement = await broker
        .deliver(index, { ackLost: fault === 'ack-lost' })
        .finally(() => target?.crashable.recover());
      trace.push(
        `${nameOf(queued.message)} → ${queued.subscriber}${queued.attempt > 1 ? ` (attempt ${queued.attempt})` : ''}${fault ? ` [${fault}]` : ''}: ${settlement}`,
      );
      if (settlement === 'unsettled') {
        violations.push(`${queued.subscriber} held ${nameOf(queued.message)} without settling it`);
      }
      // Only the service that handled the delivery committed anything.
      await flush(target);
    }
    if (scenario.timePassesAt !== undefined && !timePassed && deliveries < scenario.timePassesAt) {
      trace.push('(the sagas ended before time passed)');
    }

    for (const rejected of broker.rejected) {
      violations.push(`${rejected.subscriber} dead-lettered ${nameOf(rejected.message)}`);
    }
    for (const line of errors) violations.push(`a service logged an error: ${errorLine(line)}`);
    const sagas: SagaObservation[] = [];
    for (const { sagaId, label, outcomes } of started) {
      const events = broker.published
        .filter((message) => (message.data as Record<string, unknown> | null)?.[map.key] === sagaId)
        .map((message) => ({ type: message.type, data: message.data as Record<string, unknown> }));
      const saga: SagaObservation = {
        label,
        sagaId,
        outcomes,
        events,
        effects: await fixture.effects(sagaId),
        trackerStatus: await fixture.status(sagaId),
        timePassed,
      };
      sagas.push(saga);
      violations.push(...sagaViolations(map, saga));
    }
    return { scenario, sagas, deliveries, faults: faultsDone, trace, violations };
  };

  return { run, close };
}

/** The message and error of a JSON log line, short. */
function errorLine(line: string): string {
  try {
    const entry = JSON.parse(line) as { msg?: string; err?: { message?: string } };
    return [entry.msg, entry.err?.message].filter(Boolean).join(': ');
  } catch {
    return line.trim();
  }
}
