/** An event as the domain sees it: a type and its data. Metadata belongs to the application. */
export interface DomainEvent<T extends string = string, D = unknown> {
  type: T;
  data: D;
}

/** emmett's shape: decide refuses or returns facts; evolve applies facts and never refuses. */
export interface Decider<Command, Event, State> {
  decide(command: Command, state: State, now: Date): Event[];
  evolve(state: State, event: Event): State;
  initialState(): State;
}
