// GVariant normal-form codec: the serialization of every OSTree metadata object.
export { parseType, isValidType, GVariantTypeError, type GType } from './type';
export { encode, offsetSize } from './encode';
export { decode, isNormalForm, GVariantError, type DecodeOptions } from './decode';
export { Variant } from './variant';
export { bswap32, bswap64 } from './byteswap';
