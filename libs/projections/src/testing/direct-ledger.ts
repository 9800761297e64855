import {
  COALITION_ID,
  EarnRule,
  MemberCommand,
  MemberEvent,
  MemberState,
  PointsExpired,
  VelocityLimitExceeded,
  VelocityLimits,
  coalitionStream,
  decideMember,
  evolveMember,
  initialMember,
  memberStream,
  partnerStream,
  withLuhnDigit,
} from '@ledger/domain';
import { CommandMeta, withMetadata } from '@ledger/application';
import { GENESIS_HASH } from '@ledger/integrity';
import { AppendResult, EventStore } from '@ledger/event-store';

const SYSTEM: CommandMeta = { correlationId: 'spec', causationId: null, actor: { keyId: 'system', role: 'admin' } };

/**
 * Writes valid ledger events straight to a store for projection specs: member events come
 * from the member decider (so slices, lots and reversals are what the handlers would
 * write), with metadata and the hash chain, but without HTTP or stream reloads.
 */
export class DirectLedger {
  readonly members = new Map<string, { state: MemberState; revision: number; lastHash: string }>();
  private readonly streams = new Map<string, { revision: number; lastHash: string }>();
  private readonly earnRules = new Map<string, EarnRule>();
  private cards = 0;
  pointValueMinor = 10;

  constructor(
    readonly store: EventStore,
    /** Business time of every transaction unless given; also the decider's "now". */
    public now = '2026-11-20T12:00:00.000Z',
  ) {}

  async configure(pointValueMinor = 10, currency = 'RUB'): Promise<AppendResult> {
    this.pointValueMinor = pointValueMinor;
    return this.appendOther(coalitionStream(), 'CoalitionConfigured', {
      coalitionId: COALITION_ID,
      currency,
      pointValueMinor,
      expiryMonths: 24,
    });
  }

  async changePointValue(pointValueMinor: number): Promise<AppendResult> {
    const previous = this.pointValueMinor;
    this.pointValueMinor = pointValueMinor;
    return this.appendOther(coalitionStream(), 'PointValueChanged', { pointValueMinor, previousPointValueMinor: previous });
  }

  async join(partnerId: string, earnRule: EarnRule = { pointsPerUnit: 1, unitMinor: 100 }): Promise<AppendResult> {
    this.earnRules.set(partnerId, earnRule);
    return this.appendOther(partnerStream(partnerId), 'PartnerJoined', {
      partnerId,
      name: partnerId,
      earnRule,
      issuanceFeeBps: 0,
      breakageShareBps: 0,
      effectiveFrom: '1970-01-01T00:00:00.000Z',
    });
  }

  /** Enrolled at `now` (the decider dates an enrolment by the clock), by `enrolledBy` when given. */
  async enrol(memberId: string, enrolledBy: string | null = null): Promise<AppendResult> {
    const cardNumber = withLuhnDigit(`4${String(++this.cards).padStart(14, '0')}`);
    await this.appendOther(`card-${cardNumber}`, 'CardClaimed', { cardNumber, memberId });
    return this.decide(memberId, { type: 'EnrolMember', data: { memberId, cardNumber, birthDate: null, enrolledBy } }, SYSTEM);
  }

  /** With the partner's earn rule; the default rule gives 1 point per 100 minor units. */
  accrue(partnerId: string, memberId: string, amountMinor: number, externalId: string, occurredAt = this.now): Promise<AppendResult> {
    return this.decide(
      memberId,
      {
        type: 'AccruePoints',
        data: { partnerId, externalId, memberId, amountMinor, currency: 'RUB', occurredAt },
        context: { ...this.context(), earnRule: this.earnRules.get(partnerId) ?? { pointsPerUnit: 1, unitMinor: 100 } },
      },
      this.partnerMeta(partnerId),
    );
  }

  /** A checkout hold of `points` for `ttlSeconds`, at the holding partner. */
  hold(partnerId: string, memberId: string, points: number, externalId: string, ttlSeconds = 900): Promise<AppendResult> {
    return this.decide(
      memberId,
      { type: 'PlaceHold', data: { partnerId, externalId, memberId, points, ttlSeconds, occurredAt: this.now }, context: this.context() },
      this.partnerMeta(partnerId),
    );
  }

  /**
   * An accrual under the programme's velocity limits: over them, the flag is appended as the
   * write path does (and nothing else), and the flag is what this returns.
   */
  async accrueUnderLimits(
    partnerId: string,
    memberId: string,
    amountMinor: number,
    externalId: string,
    limits: VelocityLimits,
    occurredAt = this.now,
  ): Promise<AppendResult> {
    const command: MemberCommand = {
      type: 'AccruePoints',
      data: { partnerId, externalId, memberId, amountMinor, currency: 'RUB', occurredAt },
      context: { ...this.context(), earnRule: this.earnRules.get(partnerId) ?? { pointsPerUnit: 1, unitMinor: 100 }, limits },
    };
    try {
      return await this.decide(memberId, command, this.partnerMeta(partnerId));
    } catch (err) {
      if (!(err instanceof VelocityLimitExceeded) || err.flag === undefined) throw err;
      return this.appendMember(memberId, [err.flag], this.partnerMeta(partnerId), err.flag.data.occurredAt);
    }
  }

  /** Fraud controls: the member's card blocked by an admin, then replaced by `cardNumber`. */
  blockCard(memberId: string): Promise<AppendResult> {
    const { cardNumber } = this.member(memberId).state;
    return this.decide(memberId, { type: 'BlockCard', data: { memberId, cardNumber, reason: 'spec', blockedBy: 'admin' } }, SYSTEM);
  }

  replaceCard(memberId: string, cardNumber: string): Promise<AppendResult> {
    return this.decide(memberId, { type: 'ReplaceCard', data: { memberId, cardNumber } }, SYSTEM);
  }

  redeem(partnerId: string, memberId: string, points: number, externalId: string, occurredAt = this.now): Promise<AppendResult> {
    return this.decide(
      memberId,
      { type: 'RedeemPoints', data: { partnerId, externalId, memberId, points, occurredAt }, context: this.context() },
      this.partnerMeta(partnerId),
    );
  }

  reverse(
    partnerId: string,
    memberId: string,
    originalExternalId: string,
    externalId: string,
    occurredAt = this.now,
  ): Promise<AppendResult> {
    return this.decide(
      memberId,
      { type: 'ReverseTransaction', data: { partnerId, externalId, memberId, originalExternalId, occurredAt }, context: this.context() },
      this.partnerMeta(partnerId),
    );
  }

  /** A pending lot's window has ended: the release job's command, decided at `now`. */
  releasePending(memberId: string, lotId: string): Promise<AppendResult> {
    return this.decide(memberId, { type: 'ReleasePendingPoints', data: { memberId, lotId } }, SYSTEM);
  }

  /** Breakage of what is left of a lot (no decider for expiry exists yet: the event is written as the expiry job would). */
  async expire(memberId: string, lotId: string): Promise<AppendResult> {
    const member = this.member(memberId);
    const lot = member.state.lots.find((l) => l.lotId === lotId);
    if (!lot) throw new Error(`lot ${lotId} is not open`);
    const event: PointsExpired = {
      type: 'PointsExpired',
      data: {
        memberId,
        lotId,
        issuerPartnerId: lot.issuerPartnerId,
        points: lot.points,
        pointValueMinor: this.pointValueMinor,
        currency: 'RUB',
        occurredAt: lot.expiresAt,
      },
    };
    return this.appendMember(memberId, [event], SYSTEM, lot.expiresAt);
  }

  /** The expiry job's command for one member: its lots due by `until` (the clock's now by default) lapse. */
  expireDue(memberId: string, until = this.now): Promise<AppendResult> {
    return this.decide(memberId, { type: 'ExpireDueLots', data: { memberId, until }, context: { coalitionCurrency: 'RUB' } }, SYSTEM);
  }

  /** A member's state as the domain folds it: what the read model must agree with. */
  state(memberId: string): MemberState {
    return this.member(memberId).state;
  }

  private async decide(memberId: string, command: MemberCommand, meta: CommandMeta): Promise<AppendResult> {
    const events = decideMember(command, this.member(memberId).state, new Date(this.now));
    if (events.length === 0) throw new Error('a replay writes nothing');
    return this.appendMember(memberId, events, meta, (events[0].data as { occurredAt: string }).occurredAt);
  }

  private async appendMember(memberId: string, events: MemberEvent[], meta: CommandMeta, occurredAt: string): Promise<AppendResult> {
    const member = this.member(memberId);
    const toAppend = withMetadata(events, meta, occurredAt, member.lastHash);
    const result = await this.store.appendToStream(memberStream(memberId), toAppend, {
      expectedRevision: member.revision === -1 ? 'no_stream' : member.revision,
    });
    member.state = events.reduce((s, e) => evolveMember(s, e), member.state);
    member.revision = result.nextExpectedRevision;
    member.lastHash = String(toAppend[toAppend.length - 1].metadata.hash);
    return result;
  }

  private async appendOther(stream: string, type: string, data: Record<string, unknown>): Promise<AppendResult> {
    const s = this.streams.get(stream) ?? { revision: -1, lastHash: GENESIS_HASH };
    const toAppend = withMetadata([{ type, data }], SYSTEM, this.now, s.lastHash);
    const result = await this.store.appendToStream(stream, toAppend, { expectedRevision: s.revision === -1 ? 'no_stream' : s.revision });
    this.streams.set(stream, { revision: result.nextExpectedRevision, lastHash: String(toAppend[0].metadata.hash) });
    return result;
  }

  private member(memberId: string) {
    let member = this.members.get(memberId);
    if (!member) {
      member = { state: initialMember(), revision: -1, lastHash: GENESIS_HASH };
      this.members.set(memberId, member);
    }
    return member;
  }

  private context() {
    return { coalitionCurrency: 'RUB', pointValueMinor: this.pointValueMinor, expiryMonths: 24, maxBackdateDays: 90 };
  }

  private partnerMeta(partnerId: string): CommandMeta {
    return { correlationId: 'spec', causationId: null, actor: { keyId: `key-${partnerId}`, role: 'partner', partnerId } };
  }
}
