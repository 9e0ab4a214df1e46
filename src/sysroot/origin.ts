// `.origin` files: the GKeyFile beside each deployment saying where it came from
// (`[origin] refspec=`) and transient state (`[libostree-transient] pinned=`).
// Written as GLib writes key files (groups separated by a blank line), atomically.
import { writeFileAtomic } from '../common/atomic-write';
import { KeyFile } from '../common/keyfile';

export function originForRefspec(refspec: string): KeyFile {
  const kf = new KeyFile();
  kf.set('origin', 'refspec', refspec);
  return kf;
}

/** g_key_file_to_data's layout: at least one empty line between groups. */
export function serializeOrigin(kf: KeyFile): string {
  const out: string[] = [];
  for (const line of kf.toString().split('\n').slice(0, -1)) {
    if (/^\[.*\]$/.test(line) && out.length && out[out.length - 1] !== '') out.push('');
    out.push(line);
  }
  return out.length ? out.join('\n') + '\n' : '';
}

export function writeOrigin(file: string, kf: KeyFile): void {
  writeFileAtomic(file, serializeOrigin(kf), { mode: 0o644 });
}

export function cloneKeyFile(kf: KeyFile): KeyFile {
  return KeyFile.parse(kf.toString());
}
