// GVariant normal-form codec: the serialization of every OSTree metadata object.
export { parseType, isValidType, type GType } from './type';
export { GVariantError, GVariantTypeError } from './errors';
export { encode, offsetSize } from './encode';
export { decode, isNormalForm, type DecodeOptions } from './decode';
export { Variant } from './variant';
export { Just } from './just';
export { bswap32, bswap64 } from './byteswap';
