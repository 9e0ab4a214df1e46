// The two ways GVariant input goes wrong: a bad type string, or bytes (or values)
// that are not a valid serialization of their type. Callers map both to 'Corrupted'.

export class GVariantTypeError extends Error {
  override name = 'GVariantTypeError';
}

export class GVariantError extends Error {
  override name = 'GVariantError';
}
