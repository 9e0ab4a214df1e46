// The 96-byte lead that opens every RPM file. rpm ignores most of it today (the headers
// say everything again) but checks the magic, the major version and the signature type.
import { ArborError } from '../common/errors';

export const LEAD_SIZE = 96;
const LEAD_MAGIC = 0xedabeedb;
/** RPMSIGTYPE_HEADERSIG: a signature header follows the lead. */
const HEADERSIG = 5;

export interface Lead {
  major: number;
  minor: number;
  /** 0 binary, 1 source. */
  type: number;
  archnum: number;
  /** The lead's copy of the NVR (truncated to 65 bytes by design). */
  name: string;
  osnum: number;
  signatureType: number;
}

export function parseLead(b: Buffer, where: string): Lead {
  if (b.length < LEAD_SIZE) throw new ArborError('Corrupted', `${where}: not an RPM file (${b.length} bytes, the lead alone is ${LEAD_SIZE})`);
  if (b.readUInt32BE(0) !== LEAD_MAGIC) throw new ArborError('Corrupted', `${where}: not an RPM file (magic ${b.subarray(0, 4).toString('hex')}, expected edabeedb)`);
  const lead: Lead = {
    major: b[4],
    minor: b[5],
    type: b.readUInt16BE(6),
    archnum: b.readUInt16BE(8),
    name: b.toString('latin1', 10, 76).replace(/\0.*$/s, ''),
    osnum: b.readUInt16BE(76),
    signatureType: b.readUInt16BE(78),
  };
  if (lead.major < 3 || lead.major > 4) throw new ArborError('Unsupported', `${where}: RPM format version ${lead.major} is not supported (3 and 4 are)`);
  if (lead.signatureType !== HEADERSIG) throw new ArborError('Unsupported', `${where}: signature type ${lead.signatureType} is not supported (only header signatures, 5)`);
  return lead;
}

export function buildLead(name: string, opts: { source?: boolean; archnum?: number } = {}): Buffer {
  const b = Buffer.alloc(LEAD_SIZE);
  b.writeUInt32BE(LEAD_MAGIC, 0);
  b[4] = 3;
  b[5] = 0;
  b.writeUInt16BE(opts.source ? 1 : 0, 6);
  b.writeUInt16BE(opts.archnum ?? 1, 8);
  b.write(name.slice(0, 65), 10, 'latin1');
  b.writeUInt16BE(1, 76);
  b.writeUInt16BE(HEADERSIG, 78);
  return b;
}
