import {
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerUpdateConfig,
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { Logger } from '@cads/messaging';

/** "stream name already in use with a different configuration" */
const STREAM_CONFIG_MISMATCH = 10058;

export const nanos = (ms: number): number => Math.round(ms * 1_000_000);

export interface StreamSettings {
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly duplicateWindowMs: number;
  readonly replicas: number;
  readonly maxAgeMs: number | undefined;
}

/**
 * Creates the stream holding every `<subjectPrefix>.>` subject, or brings an existing one in line.
 * Safe to run from many processes at once: creating an identical stream succeeds, and a stream
 * created meanwhile with other settings is updated instead (the last process to start wins).
 * Only settings this adapter owns are touched: its subject, the dedup window and, when given,
 * the maximum age. Replicas apply on creation only.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  settings: StreamSettings,
  log: Logger,
): Promise<void> {
  const subject = `${settings.subjectPrefix}.>`;
  const desired: Partial<StreamConfig> & { name: string } = {
    name: settings.stream,
    subjects: [subject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(settings.duplicateWindowMs),
    num_replicas: settings.replicas,
    max_age: nanos(settings.maxAgeMs ?? 0),
  };
  let info = await streamInfo(jsm, settings.stream);
  if (info === undefined) {
    try {
      await jsm.streams.add(desired);
      return;
    } catch (error) {
      if (!isApiError(error, STREAM_CONFIG_MISMATCH)) throw error;
      info = await jsm.streams.info(settings.stream);
    }
  }
  const current = info.config;
  const changes: Partial<StreamConfig> = {};
  if (!current.subjects.includes(subject)) changes.subjects = [...current.subjects, subject];
  if (current.duplicate_window !== desired.duplicate_window) {
    changes.duplicate_window = desired.duplicate_window!;
  }
  if (settings.maxAgeMs !== undefined && current.max_age !== desired.max_age) {
    changes.max_age = desired.max_age!;
  }
  if (Object.keys(changes).length === 0) return;
  log.info({ stream: settings.stream, changes }, 'updating JetStream stream settings');
  await jsm.streams.update(settings.stream, changes);
}

/**
 * Creates a consumer, or brings an existing one in line (ack wait, max ack pending...). Safe to
 * run from many processes at once: on NATS 2.9 creating an existing consumer updates it, on ≥ 2.10
 * it fails when the settings differ and the existing one is then updated. A consumer of the same
 * name with another filter subject is never taken over: that is a naming clash, and it throws.
 */
export async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  desired: ConsumerConfig,
  log: Logger,
): Promise<void> {
  const name = desired.durable_name ?? desired.name;
  if (name === undefined) throw new TypeError('a consumer needs a name');
  const existing = await consumerInfo(jsm, stream, name);
  if (existing !== undefined) {
    await reconcileConsumer(jsm, stream, existing, desired, log);
    return;
  }
  try {
    await jsm.consumers.add(stream, desired);
  } catch (error) {
    const raced = await consumerInfo(jsm, stream, name);
    if (raced === undefined) throw error;
    await reconcileConsumer(jsm, stream, raced, desired, log);
  }
}

const UPDATABLE = ['ack_wait', 'max_ack_pending', 'max_deliver', 'inactive_threshold'] as const;

async function reconcileConsumer(
  jsm: JetStreamManager,
  stream: string,
  existing: ConsumerInfo,
  desired: ConsumerConfig,
  log: Logger,
): Promise<void> {
  const current = existing.config;
  if ((current.filter_subject ?? '') !== (desired.filter_subject ?? '')) {
    throw new Error(
      `JetStream consumer '${existing.name}' on stream '${stream}' filters ` +
        `'${current.filter_subject ?? ''}', not '${desired.filter_subject ?? ''}': two ` +
        `(group, type) pairs map to the same consumer name, or something else created it`,
    );
  }
  const changes: Partial<ConsumerUpdateConfig> = {};
  for (const key of UPDATABLE) {
    if (desired[key] !== undefined && current[key] !== desired[key]) changes[key] = desired[key];
  }
  if (Object.keys(changes).length === 0) return;
  log.info({ stream, consumer: existing.name, changes }, 'updating JetStream consumer settings');
  await jsm.consumers.update(stream, existing.name, changes);
}

/** Deletes a consumer; one that is already gone (or whose stream is) counts as deleted. */
export async function deleteConsumer(
  jsm: JetStreamManager,
  stream: string,
  name: string,
): Promise<void> {
  try {
    await jsm.consumers.delete(stream, name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

async function streamInfo(jsm: JetStreamManager, stream: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(stream);
  } catch (error) {
    if (isApiError(error, JetStreamApiCodes.StreamNotFound)) return undefined;
    throw error;
  }
}

/** Messages stored on `subject` in the stream (one stream info request, filtered to it). */
export async function countStored(
  jsm: JetStreamManager,
  stream: string,
  subject: string,
): Promise<number> {
  const info = await jsm.streams.info(stream, { subjects_filter: subject });
  return info.state.subjects?.[subject] ?? 0;
}

/** The consumer's info, or `undefined` when it does not exist. */
export async function consumerInfo(
  jsm: JetStreamManager,
  stream: string,
  name: string,
): Promise<ConsumerInfo | undefined> {
  try {
    return await jsm.consumers.info(stream, name);
  } catch (error) {
    if (isApiError(error, JetStreamApiCodes.ConsumerNotFound)) return undefined;
    throw error;
  }
}

function isNotFound(error: unknown): boolean {
  return (
    isApiError(error, JetStreamApiCodes.ConsumerNotFound) ||
    isApiError(error, JetStreamApiCodes.StreamNotFound)
  );
}

export function isApiError(error: unknown, code: number): boolean {
  return error instanceof JetStreamApiError && error.code === code;
}
