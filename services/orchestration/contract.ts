/**
 * What the router, the worker and the workflows share: each workflow's input and result, the
 * messages a workflow takes (updates, signals, queries), and the activities it may call, by
 * interface. Workflows import this module and the domain vocabulary, nothing else of dzl; the
 * worker's activities implement these interfaces; the router starts and messages workflows
 * through them. Ids and outcome codes only: sealed bytes never cross Temporal.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AttemptOutcome, FinalOutcome } from '../domain/applications';
import type { ErrorCode } from '../domain/errorCodes';
import type { DecisionStatus } from '../domain/hops';
import type { NoticeKind, NoticeReason } from '../domain/notices';

export const TASK_QUEUE = 'dzl-applications';

// ---------------------------------------------------------------- workflow inputs and results

export interface RetentionPolicy {
  /** How long the router keeps the sealed payloads of an application that ended in a loan. */
  approvedMs: number;
  /** … of one that did not (declined, no funding, expired, refused, withdrawn): shorter. */
  otherMs: number;
}

export const DEFAULT_RETENTION: RetentionPolicy = { approvedMs: 30 * 24 * 3600_000, otherMs: 7 * 24 * 3600_000 };

/** The data-channel model's workflow input. */
export interface ApplicationRef {
  applicationId: string;
  intakeHopId: string;
  /** Eligible banks in the platform's order, each named by the consent, with its timeout. */
  candidates: { bankId: string; decisionTimeoutMs: number }[];
  /** How long the router keeps the sealed payloads afterwards (DEFAULT_RETENTION when absent). */
  retention?: RetentionPolicy;
}

/** The direct-redirect model's workflow input. */
export interface RedirectRef {
  applicationId: string;
  /** platform → channel: the platform's risk fields, sealed for the channel. */
  riskHopId: string;
  /** platform → bank: the redirect token, nothing personal. */
  redirectHopId: string;
  bankId: string;
  claimTimeoutMs: number;
  decisionTimeoutMs: number;
  retention?: RetentionPolicy;
}

export type ApplicationResult =
  | { status: 'approved'; bankId: string; decisionHopId: string }
  | { status: 'declined' | 'no_funding' | 'expired'; decisionHopId?: string; reasonCode?: string }
  | { status: 'refused'; code: ErrorCode; stage: string }
  | { status: 'withdrawn'; by: string };

/** A consent withdrawal as the router records it (POST /v1/consents/{id}/withdraw). */
export interface WithdrawalRequest {
  consentId: string;
  by: string;
  recipients?: string[];
  actedAt: string;
  deviceDigest?: string;
}

// ---------------------------------------------------------------- messages

export interface DecisionArrived {
  bankId: string;
  hopId: string;
  outcome: { status: DecisionStatus; reasonCode?: string };
  /** True when the delivery activity already recorded the bank's attempt. */
  recorded?: boolean;
}

/** A bank's decision, submitted after its delivery; the validator refuses a bank not awaited. */
export const decisionUpdate = defineUpdate<void, [DecisionArrived]>('decision');
/** Which bank the application waits for now, if any. */
export const awaitingQuery = defineQuery<string | null>('awaiting');
/** The bank has claimed the redirect token: the customer applied on its page. Refused after the first. */
export const claimUpdate = defineUpdate<void, []>('claim');

export interface Withdrawal {
  consentId: string;
  by: string;
  at: string;
}

/** The customer withdrew consent: the application's pending step is cancelled at once. */
export const withdrawSignal = defineSignal<[Withdrawal]>('withdraw');

// ---------------------------------------------------------------- activities

export interface HopRef {
  applicationId: string;
  hopId: string;
}

/** A refused step: the code and where it happened; the refusal is already recorded as evidence. */
export interface Refused {
  status: 'refused';
  code: ErrorCode;
  stage: string;
}

export type StepResult = { status: 'forwarded'; nextHopId: string } | Refused;

export type DecisionResult = { status: 'decided'; nextHopId: string; outcome: DecisionArrived['outcome'] } | { status: 'delivered' } | Refused;

export interface AttemptRecord {
  applicationId: string;
  bankId: string;
  position: number;
  outcome: AttemptOutcome;
  reasonCode?: string;
  hopId?: string;
}

/** Moving sealed hops between the router's custody and the parties (services/worker/delivery.ts). */
export interface DeliveryActivities {
  deliverToChannel(ref: HopRef & { bankId: string }): Promise<StepResult>;
  /** The channel's report of an application it holds, sealed for the next bank of the cascade. */
  requestCreditReport(ref: { applicationId: string; applicationHopId: string; bankId: string }): Promise<StepResult>;
  deliverToBank(ref: HopRef): Promise<DecisionResult>;
  /** platform → bank in the redirect model: the token hop, answered with the bank's receipt only. */
  deliverRedirect(ref: HopRef): Promise<{ status: 'delivered' } | Refused>;
  recordAttempt(a: AttemptRecord): Promise<void>;
}

/** Telling the platform (services/worker/callbacks.ts): retried until it answers with a valid receipt. */
export interface CallbackActivities {
  notifyPlatform(ref: { applicationId: string; hopId?: string; final: FinalOutcome; reasonCode?: string }): Promise<void>;
  notifyDisbursement(ref: HopRef): Promise<void>;
}

/** The router's signed notices to parties holding an application's data (services/worker/notices.ts). */
export interface NoticeActivities {
  /** The channels and banks the application's hops went to. */
  holdersOf(ref: { applicationId: string }): Promise<string[]>;
  sendNotice(ref: { applicationId: string; to: string; kind: NoticeKind; reason: NoticeReason }): Promise<void>;
  recordUnacknowledged(ref: { applicationId: string; kind: NoticeKind; parties: string[] }): Promise<void>;
}

export interface StopPlan {
  applicationId: string;
  workflowId: string;
  /** Whether the withdrawal concerns it: all recipients, its channel, or a party its hops went to. */
  stops: boolean;
}

/** Consent withdrawal and retention (services/worker/lifecycle.ts). */
export interface LifecycleActivities {
  /** A withdrawal, recorded (once, whoever asks again), and what it stops. */
  recordConsentWithdrawal(w: WithdrawalRequest): Promise<StopPlan[]>;
  /** The outcome sets the retention; the sweeper acts on it. */
  setRetention(r: { applicationId: string; retainMs: number; reason: NoticeReason }): Promise<void>;
  /** Erases now: the sealed payloads go, the signed headers (the evidence) stay. */
  purgeApplication(ref: { applicationId: string; reason: NoticeReason }): Promise<void>;
  sweepRetention(ref: { limit: number }): Promise<{ askParties: { applicationId: string; reason: NoticeReason }[]; sleepMs: number }>;
  markPartyDeletionStarted(ref: { applicationIds: string[] }): Promise<void>;
}

export type Activities = DeliveryActivities & CallbackActivities & NoticeActivities & LifecycleActivities;

// ---------------------------------------------------------------- workflow ids

/** One application workflow per (platform, idempotency key): a repeat can never start a second. */
export const workflowIds = {
  disbursement: (hopId: string) => `dzl-disbursement-${hopId}`,
  withdrawEnded: (applicationId: string) => `dzl-withdraw-${applicationId}`,
  deleteAtParties: (applicationId: string) => `dzl-delete-${applicationId}`,
} as const;
