import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { NestFactory } from '@nestjs/core';
import { CommandBus } from '@nestjs/cqrs';
import { DAY_MS, Refused, VelocityLimitExceeded, addMonthsUtc, withLuhnDigit } from '@ledger/domain';
import {
  AccruePointsCommand,
  AwardBirthdayBonusCommand,
  AwardSurpriseBonusCommand,
  PurchaseMembershipCommand,
  BlockCardCommand,
  RewardActionCommand,
  ConfigureProgramCommand,
  CaptureHoldCommand,
  CommandMeta,
  ConfigureCoalitionCommand,
  EnrolMemberCommand,
  ExpireDueLotsCommand,
  FixedClock,
  IssueApiKeyCommand,
  LapseHoldCommand,
  LedgerApplicationModule,
  PlaceHoldCommand,
  RedeemPointsCommand,
  RegisterPartnerCommand,
  ReinstatePartnerCommand,
  ReleaseHoldCommand,
  ReplaceCardCommand,
  ReleasePendingPointsCommand,
  ReverseTransactionCommand,
  SuspendPartnerCommand,
  systemMeta,
} from '@ledger/application';
import { openEventStore } from '@ledger/event-store';
import { DemoKeys } from '../demo-seed';
import { readServiceEnv } from '../env-config';
import { progressBar } from './progress-bar';

/**
 * `ledger demo`: a realistic coalition history written through the command handlers (the
 * same CommandBus the API dispatches to), so every event is decided, validated and
 * hash-chained exactly as in production.
 *
 * - Spending is Pareto-distributed so that ~20% of members produce ~80% of the points:
 *   each member gets a spending level; visits grow with its square root and so does the
 *   basket, so points follow the level while no member's stream grows without bound (a
 *   handler reloads the member's stream on every transaction).
 * - Members shop mostly at a home partner and redeem mostly elsewhere, so liabilities flow
 *   between partners; about 1% of transactions are refunds or cancelled redemptions.
 * - A quarter of the spending goes through a web shop's hold: most holds are captured (some
 *   in part), some released, and some left to lapse (recorded the next day, as the API's
 *   lapse job would).
 * - A welcome promotion: points earned in the first PROMO_DAYS expire after one month (the
 *   coalition's policy is 24 months from then on), so the history has expiries: each day the
 *   expiry job's command lapses the lots due by then, and settlement shows the breakage.
 * - One partner (fashion stores, or the last partner when there are fewer) credits points
 *   after a return window of PENDING_DAYS: its lots are pending until then, some are refunded
 *   inside the window (cancelled), and the due ones are released day by day as the API's
 *   release job would; the last PENDING_DAYS of its accruals are still pending at the end.
 * - History runs `months` back from the end date. Business dates are checked against the
 *   clock (at most LEDGER_MAX_BACKDATE_DAYS old, never in the future), so the generator
 *   drives an injected clock through history a day at a time and posts each day's
 *   transactions with the clock at that day's end.
 * - A loyalty programme (tiers, bonuses, a plan, velocity limits) is in force from the start; the
 *   first partner earns by category on a progressive scale with two campaigns, its receipts itemised.
 *   An accrual over a limit is refused and flagged, and the history goes on. At the end, the
 *   fraud controls: one member's card is blocked (an accrual is refused) and replaced (the
 *   balance stays), one member posts too fast and is flagged, one partner is suspended (a post
 *   is refused) and reinstated.
 * - Deterministic for a seed: every member has its own PRNG stream and its transactions run
 *   in order, so concurrency (many members at once, sharing group commits) changes the
 *   interleaving in $all but not one business fact. Event ids and keys are random.
 */
export interface DemoOptions {
  members: number;
  transactions: number;
  partners: number;
  seed: number;
  months: number;
  /** Members whose transactions run at once. */
  concurrency: number;
  /** Business time the history ends at (default: now). */
  endAt: Date;
}

/** The programme's paid plan in the demo. */
const DEMO_PLAN_ID = 'plus';

export interface DemoSummary {
  members: number;
  partners: string[];
  /** Slots of the history: `holds` are checkouts (their capture or release is part of the slot). */
  /** `flagged`: accruals of the history a velocity limit refused (and recorded as flags). */
  transactions: { accruals: number; redemptions: number; reversals: number; holds: number; flagged: number };
  /** Bonuses given by kind (and actions refused over their cap), their points in all. */
  bonuses: { welcome: number; referral: number; birthday: number; action: number; surprise: number; capReached: number; points: number };
  /** Paid plans sold (the programme's `plus`, at enrolment by the member's home partner) and their fees. */
  memberships: { sold: number; feesMinor: number };
  /** The fraud controls the history ends with: cards blocked and replaced, flags, suspensions. */
  fraud: { blockedCards: number; replacedCards: number; flags: number; refusedWhileBlocked: number; suspendedPartners: number };
  holds: { captured: number; released: number; lapsed: number };
  /** Lots lapsed by the expiry job's command, and their points. */
  expired: { lots: number; points: number };
  /** Accruals at the partner with a return window, and how many of their lots were released by the end. */
  pending: { partnerId: string; accruals: number; released: number };
  /** Receipts with items at the partner whose earn rule has categories, a scale and two campaigns. */
  earnRules: { partnerId: string; itemised: number };
  /** Reversals that took part of their original back. */
  partialReversals: number;
  pointsAccrued: number;
  pointsRedeemed: number;
  /** Share of accrued points earned by the top 20% of members. */
  topFifthShare: number;
  /** Share of redeemed points that another partner issued. */
  crossPartnerShare: number;
  periods: string[];
  seconds: number;
}

// Spending levels are the quantiles of a Pareto law capped at 2,000 × the smallest, one per
// member in a seeded random order (stratified, so a few hundred members already show the
// law instead of whatever a few extreme draws give). With alpha 1 and that cap the top 20%
// hold ~81% of the levels and earned 76-83% of the points in runs of 500 to 10,000 members
// (basket noise and the partners' earn rules blur it); the cap keeps the busiest member at
// ~20× the average number of transactions.
const PARETO_ALPHA = 1;
const SPENDING_LEVEL_CAP = 2_000;
const REVERSAL_CHANCE = 0.01;
const REDEEM_CHANCE = 0.35;
const HOME_SHARE = 0.6;
const REDEEM_ELSEWHERE_SHARE = 0.75;
/** Of the spending: the share that goes through a web shop's hold, and how those holds end. */
const HOLD_SHARE = 0.25;
const HOLD_CAPTURED_SHARE = 0.75;
const HOLD_RELEASED_SHARE = 0.15; // the rest lapse
const HOLD_TTL_SECONDS = 15 * 60;
const PARTIAL_REVERSAL_SHARE = 0.5;
/** The programme's velocity limits: a busy member's day stays under them; a burst at one till does not. */
const DEMO_LIMITS = { maxAccrualsPerMemberPerHour: 6, maxPointsPerMemberPerDay: 200_000 };
const EXPIRY_MONTHS = 24;
/** The welcome promotion's points expire sooner; it runs only when the history outlasts them. */
const PROMO_DAYS = 14;
const PROMO_EXPIRY_MONTHS = 1;
const PROMO_MIN_HISTORY_DAYS = PROMO_DAYS + 45;
/** The return window of the one partner that credits points late (the fashion stores: clothes come back). */
const PENDING_DAYS = 14;
/** The first partner (a grocer) earns by category, on a progressive scale, and runs two campaigns; its receipts carry items. */
const EARN_RULES_INDEX = 0;
/** Of a receipt at that partner: the groceries' share (the rest is household goods). */
const GROCERY_SHARE = 0.7;

/** Groceries ×1.25, receipts from 2,000 RUB ×1.1; a grocery week from day 7, and a double-points weekend on everything from day 30. */
function demoEarnMultipliers(startMs: number) {
  const day = (n: number) => new Date(startMs + n * DAY_MS).toISOString();
  return {
    categories: { grocery: 12_500, household: 10_000 },
    thresholds: [{ fromMinor: 200_000, multiplierBps: 11_000 }],
    campaigns: [
      { campaignId: 'grocery-week', from: day(7), to: day(14), multiplierBps: 15_000, categories: ['grocery'] },
      { campaignId: 'double-weekend', from: day(30), to: day(32), multiplierBps: 20_000 },
    ],
  };
}
const PENDING_PARTNER_TEMPLATE = 'fashion';

const PARTNER_TEMPLATES = [
  { id: 'grocer', name: 'Grocery chain', pointsPerUnit: 1, unitMinor: 10_000, basketMinor: 150_000 },
  { id: 'fuel', name: 'Fuel stations', pointsPerUnit: 1, unitMinor: 10_000, basketMinor: 250_000 },
  { id: 'cafe', name: 'Coffee houses', pointsPerUnit: 2, unitMinor: 10_000, basketMinor: 45_000 },
  { id: 'pharmacy', name: 'Pharmacies', pointsPerUnit: 1, unitMinor: 10_000, basketMinor: 90_000 },
  { id: 'fashion', name: 'Fashion stores', pointsPerUnit: 1, unitMinor: 10_000, basketMinor: 600_000 },
  { id: 'cinema', name: 'Cinemas', pointsPerUnit: 3, unitMinor: 10_000, basketMinor: 120_000 },
  { id: 'electro', name: 'Electronics', pointsPerUnit: 1, unitMinor: 20_000, basketMinor: 800_000 },
  { id: 'air', name: 'Airline', pointsPerUnit: 2, unitMinor: 10_000, basketMinor: 900_000 },
];

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed per (run seed, member): independent streams, so members never share randomness. */
const memberSeed = (seed: number, index: number) => Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35);

interface DemoPartner {
  partnerId: string;
  name: string;
  pointsPerUnit: number;
  unitMinor: number;
  basketMinor: number;
  popularity: number;
}

interface DemoMember {
  index: number;
  memberId: string;
  cardNumber: string;
  random: () => number;
  home: number;
  level: number;
  enrolDay: number;
  redeemThreshold: number;
  balance: number;
  seq: number;
  /** The member's last transaction, with the points it moved (a refund may take part of them). */
  last: { partner: number; externalId: string; points: number } | undefined;
  pointsAccrued: number;
  /** The member who referred this one (every sixth member, by an earlier one), and whether it has bought yet. */
  referredBy: DemoMember | undefined;
  purchased: boolean;
}

/** The programme's bonuses: welcome and referral by the operator, birthday and actions by the first partner. */
const DEMO_WELCOME_POINTS = 100;
const DEMO_REFERRAL_POINTS = 200;
const DEMO_REVIEW = { points: 20, capPerMonth: 2 };

export async function generateDemoHistory(
  commands: CommandBus,
  clock: FixedClock,
  options: DemoOptions,
  onProgress?: (done: number, total: number) => void,
): Promise<{ keys: DemoKeys; summary: DemoSummary }> {
  const started = Date.now();
  const { members: memberCount, transactions, seed } = options;
  const days = Math.max(1, Math.round(options.months * 30.4));
  const endMs = options.endAt.getTime();
  const startMs = endMs - days * DAY_MS;
  const random = seededRandom(seed);

  // The coalition and its partners, the day before the history starts.
  clock.set(new Date(startMs - DAY_MS));
  const meta = systemMeta(`demo-${seed}`);
  const promo = days >= PROMO_MIN_HISTORY_DAYS;
  let expiryMonths = promo ? PROMO_EXPIRY_MONTHS : EXPIRY_MONTHS;
  await commands.execute(new ConfigureCoalitionCommand({ currency: 'RUB', pointValueMinor: 10, expiryMonths }, meta));
  const staffKey = (role: 'admin' | 'finance' | 'auditor') => commands.execute(new IssueApiKeyCommand({ role }, meta));
  const keys: DemoKeys = {
    admin: await staffKey('admin'),
    finance: await staffKey('finance'),
    auditor: await staffKey('auditor'),
    partners: {},
  };
  const partners: DemoPartner[] = [];
  const pendingIndex = Math.min(
    PARTNER_TEMPLATES.findIndex((t) => t.id === PENDING_PARTNER_TEMPLATE),
    options.partners - 1,
  );
  for (let i = 0; i < options.partners; i++) {
    const t = PARTNER_TEMPLATES[i % PARTNER_TEMPLATES.length];
    const round = Math.floor(i / PARTNER_TEMPLATES.length);
    const partnerId = round === 0 ? t.id : `${t.id}-${round + 1}`;
    const name = round === 0 ? t.name : `${t.name} ${round + 1}`;
    // Zipf-like: a few partners get most of the visits.
    partners.push({
      partnerId,
      name,
      pointsPerUnit: t.pointsPerUnit,
      unitMinor: t.unitMinor,
      basketMinor: t.basketMinor,
      popularity: 1 / (i + 1) ** 0.8,
    });
    await commands.execute(
      new RegisterPartnerCommand(
        {
          partnerId,
          name,
          earnRule: {
            pointsPerUnit: t.pointsPerUnit,
            unitMinor: t.unitMinor,
            ...(i === pendingIndex ? { pendingDays: PENDING_DAYS } : {}),
            ...(i === EARN_RULES_INDEX ? demoEarnMultipliers(startMs) : {}),
          },
          issuanceFeeBps: 100 + 25 * (i % 5),
          breakageShareBps: 5000,
        },
        meta,
      ),
    );
    keys.partners[partnerId] = await commands.execute(new IssueApiKeyCommand({ partnerId }, meta));
  }
  // The programme, in force from the day before the history: tiers, bonuses sponsored by the
  // operator and the first partner, a paid plan, and the velocity limits the fraud controls apply.
  await commands.execute(
    new ConfigureProgramCommand(
      {
        effectiveFrom: new Date(startMs - DAY_MS).toISOString(),
        tiers: [
          { tierId: 'red', qualifyingPoints: 0, multiplierBps: 10_000 },
          { tierId: 'silver', qualifyingPoints: 5_000, multiplierBps: 13_000 },
          { tierId: 'gold', qualifyingPoints: 20_000, multiplierBps: 20_000 },
        ],
        bonuses: {
          welcome: { points: DEMO_WELCOME_POINTS, sponsor: 'operator' },
          birthday: { points: 300, sponsor: partners[0].partnerId },
          referral: { points: DEMO_REFERRAL_POINTS, sponsor: 'operator' },
          actions: { review: { points: DEMO_REVIEW.points, sponsor: partners[0].partnerId, capPerMonth: DEMO_REVIEW.capPerMonth } },
        },
        limits: DEMO_LIMITS,
        plans: [{ planId: DEMO_PLAN_ID, feeMinor: 99_000, months: 12, multiplierBps: 15_000, tierFloor: 'silver' }],
      },
      meta,
    ),
  );
  const partnerMeta = partners.map((p): CommandMeta => ({
    correlationId: `demo-${seed}`,
    causationId: null,
    actor: { keyId: keys.partners[p.partnerId].keyId, role: 'partner', partnerId: p.partnerId },
  }));
  const popularityTotal = partners.reduce((sum, p) => sum + p.popularity, 0);
  const pickPartner = (r: number, except = -1): number => {
    const total = except === -1 ? popularityTotal : popularityTotal - partners[except].popularity;
    let x = r * total;
    for (let i = 0; i < partners.length; i++) {
      if (i === except) continue;
      x -= partners[i].popularity;
      if (x < 0) return i;
    }
    return except === partners.length - 1 ? partners.length - 2 : partners.length - 1;
  };

  // Members: a spending level each (capped Pareto), a home partner, an enrolment day in
  // the first 40% of the history.
  const rank = Array.from({ length: memberCount }, (_, i) => i);
  for (let i = memberCount - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [rank[i], rank[j]] = [rank[j], rank[i]];
  }
  const members: DemoMember[] = [];
  for (let i = 0; i < memberCount; i++) {
    const r = seededRandom(memberSeed(seed, i));
    const level = Math.min((1 - (rank[i] + 0.5) / memberCount) ** (-1 / PARETO_ALPHA), SPENDING_LEVEL_CAP);
    members.push({
      index: i,
      memberId: `dm-${String(i + 1).padStart(7, '0')}`,
      cardNumber: withLuhnDigit(`8${String(seed % 1000).padStart(3, '0')}${String(i + 1).padStart(11, '0')}`),
      random: r,
      home: pickPartner(r()),
      level,
      enrolDay: Math.floor(r() * 0.4 * days),
      redeemThreshold: 100 + Math.floor(r() * 500),
      balance: 0,
      seq: 0,
      last: undefined,
      pointsAccrued: 0,
      referredBy: undefined,
      purchased: false,
    });
  }

  // Transactions per member in proportion to sqrt(level) (largest remainder, so exactly
  // `transactions` in all), each at a random instant after the member's enrolment day.
  const shares = members.map((m) => Math.sqrt(m.level));
  const shareTotal = shares.reduce((a, b) => a + b, 0);
  const counts = shares.map((s) => Math.floor((transactions * s) / shareTotal));
  let left = transactions - counts.reduce((a, b) => a + b, 0);
  const byRemainder = shares
    .map((s, i) => [(transactions * s) / shareTotal - counts[i], i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % byRemainder.length, left--) counts[byRemainder[k][1]] += 1;
  const slotMember = new Int32Array(transactions);
  const slotAt = new Float64Array(transactions);
  let slot = 0;
  for (const m of members) {
    const from = startMs + (m.enrolDay + 1) * DAY_MS;
    const span = endMs - 60_000 - from;
    for (let k = 0; k < counts[m.index]; k++) {
      slotMember[slot] = m.index;
      slotAt[slot] = Math.floor(from + random() * span);
      slot += 1;
    }
  }
  const order = Array.from({ length: transactions }, (_, i) => i).sort((a, b) => slotAt[a] - slotAt[b] || a - b);

  const tally = {
    accruals: 0,
    redemptions: 0,
    reversals: 0,
    partialReversals: 0,
    holds: 0,
    pointsRedeemed: 0,
    crossPartner: 0,
    flagged: 0,
    /** Accruals at the earn-rules partner, sent with items. */
    itemised: 0,
  };
  const holdsEnded = { captured: 0, released: 0, lapsed: 0 };
  /** Bonuses given, by kind, and their points in all. */
  const bonuses = { welcome: 0, referral: 0, birthday: 0, action: 0, surprise: 0, capReached: 0, points: 0 };
  const memberships = { sold: 0, feesMinor: 0 };
  const expired = { lots: 0, points: 0 };
  /** Members with a lot expiring on a day of the history, by day; the days before `expiryDay` are done. */
  const expiringOn = new Map<number, Set<DemoMember>>();
  let expiryDay = 0;
  const pendingTally = { partnerId: partners[pendingIndex].partnerId, accruals: 0, released: 0 };
  /** Pending lots not yet released, recorded once the clock has passed their availableAt. */
  let pendingLots: { memberId: string; lotId: string; availableAt: number }[] = [];
  /** Holds left to lapse, recorded once the clock has passed their expiry. */
  let lapsing: { memberId: string; holdId: string; expiresAt: string }[] = [];
  const periods = new Set<string>();
  const total = memberCount + transactions;
  let done = 0;
  const tick = () => onProgress?.(++done, total);

  const runTransaction = async (m: DemoMember, at: number): Promise<void> => {
    const occurredAt = new Date(at).toISOString();
    periods.add(occurredAt.slice(0, 7));
    const externalId = `${m.memberId}-${++m.seq}`;
    const roll = m.random();
    const a = m.random();
    const b = m.random();
    if (m.last !== undefined && roll < REVERSAL_CHANCE) {
      // A refund or a cancelled redemption, right after the transaction (an accrual is still unspent then).
      const { partner, externalId: originalExternalId, points: originalPoints } = m.last;
      // Half the refunds are partial (one item of the basket back).
      const points = a < PARTIAL_REVERSAL_SHARE && originalPoints > 1 ? Math.max(1, Math.floor(originalPoints * b)) : undefined;
      const outcome = await commands.execute(
        new ReverseTransactionCommand(
          { partnerId: partners[partner].partnerId, externalId, memberId: m.memberId, originalExternalId, occurredAt, points },
          partnerMeta[partner],
        ),
      );
      if (points !== undefined) tally.partialReversals += 1;
      if (outcome.body.kind === 'accrual_reversal') m.pointsAccrued -= outcome.body.points;
      else {
        tally.pointsRedeemed -= outcome.body.points;
        for (const al of outcome.body.allocations) if (al.issuerPartnerId !== partners[partner].partnerId) tally.crossPartner -= al.points;
      }
      m.balance = outcome.body.balance;
      m.last = undefined;
      tally.reversals += 1;
      return;
    }
    if (m.balance >= m.redeemThreshold && roll < REVERSAL_CHANCE + REDEEM_CHANCE) {
      const partner = a < REDEEM_ELSEWHERE_SHARE ? pickPartner(b, m.home) : m.home;
      const points = Math.max(1, Math.floor(m.balance * (0.3 + 0.7 * b)));
      if (m.random() < HOLD_SHARE) return checkout(m, partner, points, externalId, occurredAt);
      const outcome = await commands.execute(
        new RedeemPointsCommand(
          { partnerId: partners[partner].partnerId, externalId, memberId: m.memberId, points, occurredAt },
          partnerMeta[partner],
        ),
      );
      tally.pointsRedeemed += points;
      for (const al of outcome.body.allocations) if (al.issuerPartnerId !== partners[partner].partnerId) tally.crossPartner += al.points;
      m.balance = outcome.body.balance;
      m.last = { partner, externalId, points };
      tally.redemptions += 1;
      return;
    }
    const partner = a < HOME_SHARE ? m.home : pickPartner(b);
    const p = partners[partner];
    // Basket ~ sqrt(level) times the partner's typical basket, with a log-normal-ish spread.
    const spread = Math.exp((m.random() + m.random() + m.random() - 1.5) * 0.8);
    const amountMinor = Math.max(p.unitMinor, Math.round(p.basketMinor * Math.sqrt(m.level) * spread));
    const outcome = await accrueOrFlag(m, partner, externalId, amountMinor, occurredAt);
    if (outcome === undefined) {
      tally.flagged += 1;
      return;
    }
    m.pointsAccrued += outcome.body.points;
    m.balance = outcome.body.balance;
    m.last = { partner, externalId, points: outcome.body.points };
    tally.accruals += 1;
    // A referred member's first purchase gave both members the referral bonus.
    if (!m.purchased && m.referredBy !== undefined) {
      bonuses.referral += 2;
      bonuses.points += 2 * DEMO_REFERRAL_POINTS;
      // Both bonus lots expire as any lot: the expiry job must see them (the referrer's balance learns of its bonus at its next answer).
      expiresLot(m.referredBy, occurredAt);
    }
    m.purchased = true;
    if (outcome.body.points > 0 || m.referredBy !== undefined) expiresLot(m, occurredAt);
    if (partner === pendingIndex && outcome.body.points > 0) {
      pendingTally.accruals += 1;
      pendingLots.push({ memberId: m.memberId, lotId: outcome.body.txId, availableAt: Date.parse(occurredAt) + PENDING_DAYS * DAY_MS });
    }
  };

  /** A lot issued to `m` at `occurredAt`: the expiry job's command runs for the member on the day it expires. */
  const expiresLot = (m: DemoMember, occurredAt: string): void => {
    const expiresDay = Math.floor((Date.parse(addMonthsUtc(occurredAt, expiryMonths)) - startMs) / DAY_MS);
    if (expiresDay >= days) return;
    const list = expiringOn.get(expiresDay);
    if (list) list.add(m);
    else expiringOn.set(expiresDay, new Set([m]));
  };

  /** An accrual, or undefined when a velocity limit refused it (the refusal recorded a flag). */
  const accrueOrFlag = async (m: DemoMember, partner: number, externalId: string, amountMinor: number, occurredAt: string) => {
    const { partnerId } = partners[partner];
    // The grocer's tills send the receipt's lines, so its category multipliers and campaigns apply per item.
    const groceries = Math.round(amountMinor * GROCERY_SHARE);
    const items =
      partner === EARN_RULES_INDEX
        ? [
            { sku: 'basket', category: 'grocery', amountMinor: groceries },
            { sku: 'home', category: 'household', amountMinor: amountMinor - groceries },
          ]
        : undefined;
    try {
      const outcome = await commands.execute(
        new AccruePointsCommand(
          { partnerId, externalId, memberId: m.memberId, amountMinor, currency: 'RUB', occurredAt, ...(items ? { items } : {}) },
          partnerMeta[partner],
        ),
      );
      if (items !== undefined) tally.itemised += 1;
      return outcome;
    } catch (err) {
      if (err instanceof VelocityLimitExceeded) return undefined;
      throw err;
    }
  };

  /** A web shop's checkout: hold the points, then capture (all or part), release, or leave the hold to lapse. */
  const checkout = async (m: DemoMember, partner: number, points: number, externalId: string, occurredAt: string): Promise<void> => {
    const { partnerId } = partners[partner];
    const held = await commands.execute(
      new PlaceHoldCommand(
        { partnerId, externalId, memberId: m.memberId, points, ttlSeconds: HOLD_TTL_SECONDS, occurredAt },
        partnerMeta[partner],
      ),
    );
    tally.holds += 1;
    m.balance = held.body.available;
    const end = m.random();
    const part = m.random();
    if (end < HOLD_CAPTURED_SHARE) {
      // One capture in five takes part of the basket (an item out of stock).
      const capturePoints = part < 0.2 ? Math.max(1, Math.floor(points * (0.5 + part))) : undefined;
      const captured = await commands.execute(
        new CaptureHoldCommand(
          { partnerId, externalId: `${externalId}-cap`, memberId: m.memberId, holdId: held.body.holdId, points: capturePoints, occurredAt },
          partnerMeta[partner],
        ),
      );
      tally.pointsRedeemed += captured.body.points;
      for (const al of captured.body.allocations) if (al.issuerPartnerId !== partnerId) tally.crossPartner += al.points;
      m.balance = captured.body.available;
      m.last = { partner, externalId: `${externalId}-cap`, points: captured.body.points };
      holdsEnded.captured += 1;
    } else if (end < HOLD_CAPTURED_SHARE + HOLD_RELEASED_SHARE) {
      const released = await commands.execute(
        new ReleaseHoldCommand(
          { partnerId, externalId: `${externalId}-rel`, memberId: m.memberId, holdId: held.body.holdId },
          partnerMeta[partner],
        ),
      );
      m.balance = released.body.available;
      holdsEnded.released += 1;
    } else {
      lapsing.push({ memberId: m.memberId, holdId: held.body.holdId, expiresAt: held.body.expiresAt });
      holdsEnded.lapsed += 1;
    }
  };

  /** Records the lapse of every hold left open whose expiry the clock has passed. */
  const lapseDue = async (): Promise<void> => {
    const now = clock.now().getTime();
    const due = lapsing.filter((h) => Date.parse(h.expiresAt) <= now);
    lapsing = lapsing.filter((h) => Date.parse(h.expiresAt) > now);
    const meta = systemMeta(`demo-${seed}-lapse`);
    await runPool(due, options.concurrency, async (h) => {
      await commands.execute(new LapseHoldCommand({ memberId: h.memberId, holdId: h.holdId }, meta));
    });
  };

  /** The expiry job's command for every member with a lot due by the clock's now (the end of `day`). */
  const expireDue = async (day: number): Promise<void> => {
    const due = new Set<DemoMember>();
    for (; expiryDay <= day; expiryDay++) for (const m of expiringOn.get(expiryDay) ?? []) due.add(m);
    const until = clock.now().toISOString();
    const meta = systemMeta(`demo-${seed}-expiry`);
    await runPool([...due], options.concurrency, async (m) => {
      const result = await commands.execute(new ExpireDueLotsCommand({ memberId: m.memberId, until }, meta));
      // Today's transactions must not count on points that lapsed.
      m.balance = Math.max(0, m.balance - result.points);
      expired.lots += result.lots;
      expired.points += result.points;
    });
  };

  /** Records the release of every pending lot whose window the clock has passed (a lot refunded in it releases nothing). */
  const releaseDue = async (): Promise<void> => {
    const now = clock.now().getTime();
    const due = pendingLots.filter((l) => l.availableAt <= now);
    pendingLots = pendingLots.filter((l) => l.availableAt > now);
    const meta = systemMeta(`demo-${seed}-release`);
    await runPool(due, options.concurrency, async (l) => {
      const result = await commands.execute(new ReleasePendingPointsCommand({ memberId: l.memberId, lotId: l.lotId }, meta));
      if (result.released) pendingTally.released += 1;
    });
  };

  // Day by day: enrol that day's members, then run that day's transactions, each member's
  // in order and many members at once.
  const enrolByDay = new Map<number, DemoMember[]>();
  for (const m of members) {
    const list = enrolByDay.get(m.enrolDay);
    if (list) list.push(m);
    else enrolByDay.set(m.enrolDay, [m]);
  }
  let next = 0;
  /** Members enrolled on earlier days: a new member may be referred by one of them. */
  const enrolledBefore: DemoMember[] = [];
  for (let day = 0; day < days; day++) {
    const dayEnd = Math.min(startMs + (day + 1) * DAY_MS - 1, endMs);
    clock.set(new Date(dayEnd));
    if (promo && day === PROMO_DAYS) {
      expiryMonths = EXPIRY_MONTHS;
      await commands.execute(new ConfigureCoalitionCommand({ currency: 'RUB', pointValueMinor: 10, expiryMonths }, meta));
    }
    await lapseDue();
    await expireDue(day);
    await releaseDue();
    const enrolling = enrolByDay.get(day) ?? [];
    for (const m of enrolling) {
      if (m.index % 6 === 5 && enrolledBefore.length > 0) m.referredBy = enrolledBefore[m.index % enrolledBefore.length];
    }
    await runPool(enrolling, options.concurrency, async (m) => {
      await commands.execute(
        new EnrolMemberCommand(
          {
            memberId: m.memberId,
            cardNumber: m.cardNumber,
            enrolledBy: partners[m.home].partnerId,
            birthDate: birthDateOf(m.index),
            referredBy: m.referredBy?.memberId,
          },
          partnerMeta[m.home],
        ),
      );
      // The programme's welcome bonus came with the enrolment (a lot dated by the clock).
      bonuses.welcome += 1;
      bonuses.points += DEMO_WELCOME_POINTS;
      expiresLot(m, clock.now().toISOString());
      // One member in ten buys the paid plan from its home partner: its accruals earn ×1.5 for a year.
      if (m.index % 10 === 3) {
        const sold = await commands.execute(
          new PurchaseMembershipCommand(
            {
              partnerId: partners[m.home].partnerId,
              externalId: `${m.memberId}-plus`,
              memberId: m.memberId,
              planId: DEMO_PLAN_ID,
              occurredAt: clock.now().toISOString(),
            },
            partnerMeta[m.home],
          ),
        );
        memberships.sold += 1;
        memberships.feesMinor += sold.body.feeMinor;
      }
      tick();
    });
    enrolledBefore.push(...enrolling);
    // The birthday job's command for the members born on this day (the API finds them in the birthdays index).
    const birthdayAt = clock.now().toISOString();
    const birthdays = enrolledBefore.filter((m) => birthDateOf(m.index).slice(5) === birthdayAt.slice(5, 10));
    await runPool(birthdays, options.concurrency, async (m) => {
      const outcome = await commands.execute(
        new AwardBirthdayBonusCommand(
          { memberId: m.memberId, year: Number(birthdayAt.slice(0, 4)), occurredAt: birthdayAt },
          systemMeta(`demo-${seed}-birthdays`),
        ),
      );
      if (outcome === 'no_bonus') return;
      bonuses.birthday += 1;
      bonuses.points += outcome.body.points;
      expiresLot(m, birthdayAt);
    });
    const today = new Map<DemoMember, number[]>();
    while (next < order.length && slotAt[order[next]] <= dayEnd) {
      const m = members[slotMember[order[next]]];
      const list = today.get(m);
      if (list) list.push(slotAt[order[next]]);
      else today.set(m, [slotAt[order[next]]]);
      next += 1;
    }
    await runPool([...today], options.concurrency, async ([m, times]) => {
      for (const at of times) {
        await runTransaction(m, at);
        tick();
      }
    });
  }
  if (next !== order.length) throw new Error(`${order.length - next} transactions fell outside the history`);

  // The fraud controls, at the end of the history (the clock stands at its last instant).
  clock.set(new Date(endMs));
  const fraud = { blockedCards: 0, replacedCards: 0, flags: 0, refusedWhileBlocked: 0, suspendedPartners: 0 };
  const lastMinute = new Date(endMs - 60_000).toISOString();
  const refusedWith = async (code: string, send: () => Promise<unknown>): Promise<boolean> => {
    try {
      await send();
      return false;
    } catch (err) {
      if (err instanceof Refused && err.code === code) return true;
      throw err;
    }
  };
  // A card number copied and sold online: its enrolling partner blocks it, a purchase on it is
  // refused, a new card is issued and the member carries on with the same balance.
  const victim = members[0];
  const victimHome = partners[victim.home].partnerId;
  await commands.execute(
    new BlockCardCommand({ cardNumber: victim.cardNumber, reason: 'card number sold online' }, partnerMeta[victim.home]),
  );
  fraud.blockedCards += 1;
  const onBlocked = () =>
    commands.execute(
      new AccruePointsCommand(
        {
          partnerId: victimHome,
          externalId: `${victim.memberId}-blocked`,
          memberId: victim.memberId,
          amountMinor: 100_000,
          currency: 'RUB',
          occurredAt: lastMinute,
        },
        partnerMeta[victim.home],
      ),
    );
  if (!(await refusedWith('card_blocked', onBlocked))) throw new Error('a blocked card earned points');
  fraud.refusedWhileBlocked += 1;
  const newCard = withLuhnDigit(`9${String(seed % 1000).padStart(3, '0')}${String(victim.index + 1).padStart(11, '0')}`);
  await commands.execute(new ReplaceCardCommand({ memberId: victim.memberId, cardNumber: newCard }, partnerMeta[victim.home]));
  fraud.replacedCards += 1;
  // A burst of purchases at one till within a minute: the one over the hourly limit is refused and flagged.
  const burst = members[Math.min(1, members.length - 1)];
  for (let k = 1; k <= DEMO_LIMITS.maxAccrualsPerMemberPerHour + 1; k++) {
    const outcome = await accrueOrFlag(burst, burst.home, `${burst.memberId}-burst-${k}`, 10_000, lastMinute);
    if (outcome === undefined) {
      fraud.flags += 1;
      break;
    }
    burst.pointsAccrued += outcome.body.points;
    burst.balance = outcome.body.balance;
  }
  // A partner suspended (its post refused), then reinstated.
  const suspended = partners[partners.length - 1];
  await commands.execute(new SuspendPartnerCommand({ partnerId: suspended.partnerId, reason: 'contract under review' }, meta));
  fraud.suspendedPartners += 1;
  const bySuspended = () =>
    commands.execute(
      new AccruePointsCommand(
        {
          partnerId: suspended.partnerId,
          externalId: 'while-suspended',
          memberId: burst.memberId,
          amountMinor: 100_000,
          currency: 'RUB',
          occurredAt: lastMinute,
        },
        partnerMeta[partners.length - 1],
      ),
    );
  if (!(await refusedWith('partner_suspended', bySuspended))) throw new Error('a suspended partner posted');
  await commands.execute(new ReinstatePartnerCommand({ partnerId: suspended.partnerId }, meta));

  // Bonuses on request at the end of the history: members reviewing at the first partner (the
  // third review in a month is over the cap and refused), a surprise from the operator (an
  // admin) and one from the second partner, which sponsors it.
  for (const m of members.slice(0, Math.min(5, members.length))) {
    for (let k = 1; k <= DEMO_REVIEW.capPerMonth + 1; k++) {
      const review = () =>
        commands.execute(
          new RewardActionCommand(
            {
              partnerId: partners[0].partnerId,
              externalId: `${m.memberId}-review-${k}`,
              memberId: m.memberId,
              action: 'review',
              occurredAt: lastMinute,
            },
            partnerMeta[0],
          ),
        );
      if (k > DEMO_REVIEW.capPerMonth) {
        if (!(await refusedWith('cap_reached', review))) throw new Error('an action over its monthly cap was rewarded');
        bonuses.capReached += 1;
        continue;
      }
      bonuses.points += (await review()).body.points;
      bonuses.action += 1;
    }
  }
  const surpriseBy = [
    { by: 'operator', meta, reason: 'sorry for the outage' },
    {
      by: partners[Math.min(1, partners.length - 1)].partnerId,
      meta: partnerMeta[Math.min(1, partners.length - 1)],
      reason: 'thank you for shopping with us',
    },
  ];
  for (const [i, s] of surpriseBy.entries()) {
    const m = members[(i + 2) % members.length];
    const outcome = await commands.execute(
      new AwardSurpriseBonusCommand(
        { by: s.by, externalId: `${m.memberId}-surprise`, memberId: m.memberId, points: 250, reason: s.reason },
        s.meta,
      ),
    );
    bonuses.points += outcome.body.points;
    bonuses.surprise += 1;
  }

  const accrued = members.map((m) => m.pointsAccrued).sort((x, y) => y - x);
  const pointsAccrued = accrued.reduce((x, y) => x + y, 0);
  const topFifth = accrued.slice(0, Math.ceil(memberCount / 5)).reduce((x, y) => x + y, 0);
  return {
    keys,
    summary: {
      members: memberCount,
      partners: partners.map((p) => p.partnerId),
      transactions: {
        accruals: tally.accruals,
        redemptions: tally.redemptions,
        reversals: tally.reversals,
        holds: tally.holds,
        flagged: tally.flagged,
      },
      fraud,
      bonuses,
      memberships,
      holds: holdsEnded,
      expired,
      pending: pendingTally,
      earnRules: { partnerId: partners[EARN_RULES_INDEX].partnerId, itemised: tally.itemised },
      partialReversals: tally.partialReversals,
      pointsAccrued,
      pointsRedeemed: tally.pointsRedeemed,
      topFifthShare: pointsAccrued > 0 ? topFifth / pointsAccrued : 0,
      crossPartnerShare: tally.pointsRedeemed > 0 ? tally.crossPartner / tally.pointsRedeemed : 0,
      periods: [...periods].sort(),
      seconds: (Date.now() - started) / 1000,
    },
  };
}

/** A birth date per member, spread over the calendar without the PRNG (the history's draws stay as they were). */
function birthDateOf(index: number): string {
  const year = 1960 + ((index * 17) % 45);
  const month = 1 + ((index * 7) % 12);
  const day = 1 + ((index * 13) % 28);
  return `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

/** Runs `work` over `items`, at most `concurrency` at a time; the first failure fails the whole. */
async function runPool<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

const positiveInt = (name: string, value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return n;
};

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('write a realistic coalition history into an empty store through the command handlers (progress on stderr)')
    .option('--members <n>', 'members', '1000')
    .option('--transactions <n>', 'accruals, redemptions and reversals in all', '20000')
    .option('--partners <n>', 'partners', '8')
    .option('--seed <n>', 'PRNG seed: the same seed gives the same history', '1')
    .option('--months <n>', 'months of history, ending now', '6')
    .option('--concurrency <n>', 'members posting at once (their appends share group commits)', '128')
    .action(async (raw: Record<string, string>) => {
      const env = readServiceEnv();
      if (env.ledger.maxBackdateDays < 1) throw new Error('ledger demo needs LEDGER_MAX_BACKDATE_DAYS of at least 1');
      const options: DemoOptions = {
        members: positiveInt('members', raw.members),
        transactions: positiveInt('transactions', raw.transactions),
        partners: positiveInt('partners', raw.partners),
        seed: positiveInt('seed', raw.seed),
        months: positiveInt('months', raw.months),
        concurrency: positiveInt('concurrency', raw.concurrency),
        endAt: new Date(),
      };
      mkdirSync(env.dataDir, { recursive: true });
      const opened = openEventStore(env);
      const clock = new FixedClock(options.endAt);
      const app = await NestFactory.createApplicationContext(
        LedgerApplicationModule.forRoot({ store: opened.store, clock, config: env.ledger }),
        {
          logger: false,
        },
      );
      const bar = progressBar('demo', 'commands');
      try {
        if ((await opened.store.readAll({ maxCount: 1 })).length > 0) {
          throw new Error(`the store at ${opened.where} is not empty; ledger demo writes a whole coalition into an empty one`);
        }
        const { keys, summary } = await generateDemoHistory(app.get(CommandBus), clock, options, (done, total) =>
          bar.update(done, total, done),
        );
        bar.stop();
        const keysFile = join(env.dataDir, 'demo-keys.json');
        writeFileSync(keysFile, JSON.stringify(keys, null, 2) + '\n', { mode: 0o600 });
        const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
        process.stderr.write(
          [
            `demo history written to ${opened.where} in ${summary.seconds.toFixed(1)} s`,
            `  ${summary.members} members, partners ${summary.partners.join(', ')}`,
            `  ${summary.transactions.accruals} accruals, ${summary.transactions.redemptions} redemptions, ${summary.transactions.reversals} reversals over ${summary.periods.join(', ')}`,
            `  ${summary.partialReversals} of the reversals partial; ${summary.transactions.holds} holds: ${summary.holds.captured} captured, ${summary.holds.released} released, ${summary.holds.lapsed} left to lapse`,
            `  fraud controls: ${summary.fraud.blockedCards} card blocked and ${summary.fraud.replacedCards} replaced, accruals flagged by the velocity limits: ${summary.transactions.flagged + summary.fraud.flags}, ${summary.fraud.suspendedPartners} partner suspended and reinstated`,
            `  bonuses: ${summary.bonuses.welcome} welcome, ${summary.bonuses.referral} referral, ${summary.bonuses.birthday} birthday, ${summary.bonuses.action} actions (${summary.bonuses.capReached} refused over the monthly cap), ${summary.bonuses.surprise} surprises: ${summary.bonuses.points} points`,
            `  ${summary.memberships.sold} paid plans sold (${summary.memberships.feesMinor} minor units of fees)`,
            `  ${summary.expired.lots} lots expired (${summary.expired.points} points of breakage)`,
            `  ${summary.pending.accruals} accruals at ${summary.pending.partnerId} pending for ${PENDING_DAYS} days: ${summary.pending.released} released, the rest refunded or still pending`,
            `  ${summary.earnRules.itemised} receipts with items at ${summary.earnRules.partnerId} (groceries ×1.25, a scale from 2,000 RUB, a grocery week and a double-points weekend); tiers red, silver, gold in force`,
            `  top 20% of members earned ${pct(summary.topFifthShare)} of ${summary.pointsAccrued} points; ${pct(summary.crossPartnerShare)} of redeemed points were another partner's`,
            `  keys: ${keysFile}`,
            '',
          ].join('\n'),
        );
      } finally {
        bar.stop();
        await app.close();
        await opened.store.close();
      }
    });
}
