// The Just of a maybe whose element is itself a maybe (mmT). There a bare null
// cannot tell Nothing from Just Nothing, so decode wraps such Justs in this box;
// encode accepts it for any maybe.
export class Just<T = unknown> {
  constructor(readonly value: T) {}
}
