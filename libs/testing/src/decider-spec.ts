/**
 * Given / when / then for deciders, in the spirit of emmett's DeciderSpecification:
 * given past events, when a command is decided at a pinned `now`, then these events,
 * nothing, or this refusal.
 */

export interface DeciderSpecOptions<Command, Event, State> {
  decide: (command: Command, state: State, now: Date) => readonly Event[];
  /** `position` is a fake global position, increasing from 1 over given then decided events. */
  evolve: (state: State, event: Event, position: number) => State;
  /** A function, not a value: states may share maps, so every scenario folds from a fresh one. */
  initialState: () => State;
  now: Date;
}

/** An error class to match by `instanceof`, or a predicate over the thrown value. */
export type ErrorMatcher = (abstract new (...args: never[]) => Error) | ((error: unknown) => boolean);

export interface Then<Event, State> {
  /** Exactly these events, in order; they must also fold onto the given state without throwing. */
  then(expected: readonly Event[]): void;
  /** No events (a no-op or an idempotent replay). */
  thenNothingHappened(): void;
  /** decide refuses: the error matches, and carries `code` when one is given. */
  thenThrows(matcher: ErrorMatcher, code?: string): void;
  /** The state after folding the decided events: for what evolve makes of them. */
  thenState(check: (stateAfter: State) => void): void;
}

export interface When<Command, Event, State> {
  when(command: Command): Then<Event, State>;
  /** The state the given events fold to, for checks of evolve alone. */
  state(): State;
}

export type GivenFn<Command, Event, State> = (events: readonly Event[]) => When<Command, Event, State>;

/** `const given = deciderSpec(...)` then `given(events)` or `given.given(events)`: both read well. */
export type DeciderSpec<Command, Event, State> = GivenFn<Command, Event, State> & {
  given: GivenFn<Command, Event, State>;
};

export function deciderSpec<Command, Event, State>(options: DeciderSpecOptions<Command, Event, State>): DeciderSpec<Command, Event, State> {
  const { decide, evolve, initialState, now } = options;

  const given: GivenFn<Command, Event, State> = (givenEvents) => {
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
        const run = (): { events: readonly Event[]; stateAfter: State } => {
          const folded = fold();
          const events = decide(command, folded.state, now);
          if (!Array.isArray(events)) throw new Error('decide did not return an array of events');
          let stateAfter = folded.state;
          let position = folded.position;
          for (const event of events) stateAfter = evolve(stateAfter, event, ++position);
          return { events, stateAfter };
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
          thenState(check) {
            check(run().stateAfter);
          },
        };
      },
    };
  };

  return Object.assign(given, { given });
}

// Classes carry a prototype that is an Error; arrow-function predicates have none.
function isErrorClass(matcher: ErrorMatcher): matcher is abstract new (...args: never[]) => Error {
  const proto: unknown = (matcher as { prototype?: unknown }).prototype;
  return proto !== undefined && (proto === Error.prototype || proto instanceof Error);
}
