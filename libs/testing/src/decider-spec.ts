/**
 * Given / when / then for deciders, in the spirit of emmett's DeciderSpecification:
 * given past events, when a command is decided at a pinned `now`, then these events,
 * nothing, or this refusal.
 *
 * The member decider answers `{ events, replayOf }` rather than an array: pass `eventsOf`
 * (or use `decisionEvents`) to say where the events are; `thenResult` sees the whole answer.
 */

export interface DeciderSpecOptions<Command, Event, State, Result = Event[]> {
  decide: (command: Command, state: State, now: Date) => Result;
  /** `position` is a fake global position, increasing from 1 over given then decided events. */
  evolve: (state: State, event: Event, position: number) => State;
  /** A function, not a value: states may share maps, so every scenario folds from a fresh one. */
  initialState: () => State;
  now: Date;
  /** Where the events are in what `decide` returns; by default the result is the array. */
  eventsOf?: (result: Result) => readonly Event[];
}

/** An error class to match by `instanceof`, or a predicate over the thrown value. */
export type ErrorMatcher = (abstract new (...args: never[]) => Error) | ((error: unknown) => boolean);

export interface Then<Event, State, Result> {
  /** Exactly these events, in order; they must also fold onto the given state without throwing. */
  then(expected: readonly Event[]): void;
  /** No events (a no-op or an idempotent replay). */
  thenNothingHappened(): void;
  /** decide refuses: the error matches, and carries `code` when one is given. */
  thenThrows(matcher: ErrorMatcher, code?: string): void;
  /** The raw answer of decide, and the state after folding its events (for replays and evolve checks). */
  thenResult(check: (result: Result, stateAfter: State) => void): void;
}

export interface When<Command, Event, State, Result> {
  when(command: Command): Then<Event, State, Result>;
  /** The state the given events fold to, for checks of evolve alone. */
  state(): State;
}

export type GivenFn<Command, Event, State, Result> = (events: readonly Event[]) => When<Command, Event, State, Result>;

/** `const given = deciderSpec(...)` then `given(events)` or `given.given(events)`: both read well. */
export type DeciderSpec<Command, Event, State, Result> = GivenFn<Command, Event, State, Result> & {
  given: GivenFn<Command, Event, State, Result>;
};

/** For deciders that answer `{ events }`: the member decider. */
export const decisionEvents = <Event>(decision: { events: readonly Event[] }): readonly Event[] => decision.events;

export function deciderSpec<Command, Event, State, Result = Event[]>(
  options: DeciderSpecOptions<Command, Event, State, Result>,
): DeciderSpec<Command, Event, State, Result> {
  const { decide, evolve, initialState, now } = options;
  const eventsOf = options.eventsOf ?? ((result: Result) => asEventArray<Event>(result));

  const given: GivenFn<Command, Event, State, Result> = (givenEvents) => {
    const fold = (): { state: State; position: number } => {
      let state = initialState();
      let position = 0;
      for (const event of givenEvents) state = evolve(state, event, ++position);
      return { state, position };
    };

    return {
      state: () => fold().state,
      when(command) {
        // Decided lazily, inside the `then…` call, so a throw is attributed to the right assertion.
        const run = (): { result: Result; events: readonly Event[]; stateAfter: State } => {
          const folded = fold();
          const result = decide(command, folded.state, now);
          const events = eventsOf(result);
          let stateAfter = folded.state;
          let position = folded.position;
          for (const event of events) stateAfter = evolve(stateAfter, event, ++position);
          return { result, events, stateAfter };
        };

        return {
          then(expected) {
            expect(run().events).toEqual(expected);
          },
          thenNothingHappened() {
            expect(run().events).toEqual([]);
          },
          thenThrows(matcher, code) {
            let thrown: unknown = undefined;
            let threw = false;
            try {
              run();
            } catch (error) {
              threw = true;
              thrown = error;
            }
            if (!threw) throw new Error('expected decide to throw, but it returned');
            if (isErrorClass(matcher)) {
              expect(thrown).toBeInstanceOf(matcher);
            } else {
              if (!matcher(thrown)) throw new Error(`the thrown value does not match: ${String(thrown)}`);
            }
            if (code !== undefined) expect((thrown as { code?: unknown }).code).toBe(code);
          },
          thenResult(check) {
            const { result, stateAfter } = run();
            check(result, stateAfter);
          },
        };
      },
    };
  };

  return Object.assign(given, { given });
}

function asEventArray<Event>(result: unknown): readonly Event[] {
  if (!Array.isArray(result)) {
    throw new Error('decide did not return an array of events: pass `eventsOf` to deciderSpec');
  }
  return result as Event[];
}

// Classes carry a prototype that is an Error; arrow-function predicates have none.
function isErrorClass(matcher: ErrorMatcher): matcher is abstract new (...args: never[]) => Error {
  const proto: unknown = (matcher as { prototype?: unknown }).prototype;
  return proto !== undefined && (proto === Error.prototype || proto instanceof Error);
}
