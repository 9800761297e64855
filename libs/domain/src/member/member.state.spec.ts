import { MemberState, evolveMember, initialMember } from './member.state';

// evolveMember copies the state field by field (nextState): a field it did not copy would
// silently fall back to undefined after the next event.
describe('evolveMember carries every field of the state to the next', () => {
  const enrolled = evolveMember(initialMember(), {
    type: 'MemberEnrolled',
    data: {
      memberId: 'm-1',
      cardNumber: '6000000000000001',
      birthDate: '1990-05-01',
      enrolledBy: 'p01',
      occurredAt: '2026-10-01T09:00:00.000Z',
    },
  });

  it('the state after an event has exactly the fields of the initial state', () => {
    expect(Object.keys(enrolled).sort()).toEqual(Object.keys(initialMember()).sort());
  });

  it('an event changes its own fields and leaves every other field as it was', () => {
    const blocked = evolveMember(enrolled, {
      type: 'CardBlocked',
      data: { memberId: 'm-1', cardNumber: '6000000000000001', reason: 'lost', blockedBy: 'p01', occurredAt: '2026-10-02T09:00:00.000Z' },
    });
    expect(blocked).not.toBe(enrolled);
    expect(blocked.cardBlocked).toBe(true);
    for (const key of Object.keys(enrolled) as (keyof MemberState)[]) {
      if (key !== 'cardBlocked') expect({ key, value: blocked[key] }).toEqual({ key, value: enrolled[key] });
    }
    expect(enrolled.memberId).toBe('m-1');
    expect(enrolled.enrolledBy).toBe('p01');
  });
});
