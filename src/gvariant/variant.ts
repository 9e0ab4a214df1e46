// A boxed value of type `v`: the type travels with the value.
export class Variant<T = unknown> {
  constructor(readonly type: string, readonly value: T) {}
}
