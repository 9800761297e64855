import { Conflict } from '../shared/errors';
import { decideReservation, evolveReservation, initialReservation } from './transaction';

describe('decideReservation (txId unique coalition-wide)', () => {
  const reserved = (memberId: string) =>
    evolveReservation(initialReservation(), { type: 'TransactionReserved', data: { txId: 'shop:r-1', memberId } });

  it('a free txId is reserved for the member', () => {
    expect(decideReservation({ txId: 'shop:r-1', memberId: 'alice' }, initialReservation())).toEqual([
      { type: 'TransactionReserved', data: { txId: 'shop:r-1', memberId: 'alice' } },
    ]);
  });

  it('reserved for the same member: nothing to write (a retry, or an append a crash cut off)', () => {
    expect(decideReservation({ txId: 'shop:r-1', memberId: 'alice' }, reserved('alice'))).toEqual([]);
  });

  it('reserved for another member: 409 idempotency_conflict', () => {
    const attempt = () => decideReservation({ txId: 'shop:r-1', memberId: 'bob' }, reserved('alice'));
    expect(attempt).toThrow(Conflict);
    expect(attempt).toThrow(expect.objectContaining({ code: 'idempotency_conflict' }));
  });

  it('the first reservation holds', () => {
    const s = evolveReservation(reserved('alice'), { type: 'TransactionReserved', data: { txId: 'shop:r-1', memberId: 'bob' } });
    expect(s.memberId).toBe('alice');
  });
});
