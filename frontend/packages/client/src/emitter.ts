/** A minimal typed event emitter, so the client needs no dependency for its few events. */

type Listener<T> = (payload: T) => void;

export class Emitter<Events extends object> {
  private readonly listeners: { [K in keyof Events]?: Set<Listener<Events[K]>> } = {};

  /** Calls `listener` on every `name` event; returns the function that stops it. */
  on<K extends keyof Events>(name: K, listener: Listener<Events[K]>): () => void {
    const set = (this.listeners[name] ??= new Set());
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<K extends keyof Events>(name: K, payload: Events[K]): void {
    for (const listener of this.listeners[name] ?? []) listener(payload);
  }
}
