// The `ofp` command: OpenFlow 1.3 messages between their wire form and JSON lines, for operators
// reading a capture and for tests. decode reads binary, hex or a pcap capture and prints one JSON
// object per message; encode reads those JSON lines back into wire bytes.
import { createReadStream, readFileSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { decode } from '../decode.js';
import { encode } from '../encode.js';
import { OFDecodeError, OFEncodeError } from '../errors.js';
import { OFFramer } from '../framer.js';
import { fromJSON, toJSON } from '../json.js';
import type { OFMessage } from '../messages.js';
import { PcapError, reassemble } from './pcap.js';
import type { TcpStream } from './pcap.js';

const USAGE = `usage: ofp <command> [options] [FILE|-]

commands:
  decode [FILE|-]   OpenFlow 1.3 messages (binary by default) -> one JSON object per line
      --hex           input is hex text; whitespace, '#' and '//' comments are ignored
      --pcap          input is a pcap capture (tcpdump -w); each TCP direction is reassembled
      --port N        with --pcap: OpenFlow TCP port (repeatable, or 'any'); default 6653 and 6633
      --strict        with --pcap: a TCP stream that ends inside a message is an error (exit 1);
                      by default it is a warning on stderr (a peer closed mid-message, or the
                      capture stopped), with the flow and the byte count
      --pretty        indent the JSON (one message per block instead of per line)
      --json          accepted for symmetry with other read commands: output is always JSON
  encode [FILE|-]   JSON lines (as decode prints them) -> binary messages
      -o, --output F  write to F instead of standard output
      --hex           write one hex line per message instead of binary

JSON: bigint values (cookie, datapathId, metadata...) are decimal strings, byte strings are hex,
MAC/IPv4/IPv6 are canonical strings, reserved ports are names ('CONTROLLER', 'ANY'...).
Exit status: 0 ok, 1 malformed input (the error code and byte offset are printed), 2 usage error.`;

class UsageError extends Error {}

/** Malformed input, located: what `ofp` prints before exiting 1. */
class InputError extends Error {
  constructor(readonly code: string, readonly where: string, detail: string) {
    super(detail);
  }
}

type Out = (data: string | Uint8Array) => Promise<void>;

function writer(stream: NodeJS.WritableStream): Out {
  return (data) => new Promise<void>((resolve, reject) => {
    stream.write(data, (err) => (err ? reject(err) : resolve()));
  });
}

function openInput(file: string | undefined): Readable {
  if (file === undefined || file === '-') return process.stdin;
  return createReadStream(file);
}

function readAll(file: string | undefined): Buffer {
  return file === undefined || file === '-' ? readFileSync(0) : readFileSync(file);
}

function json(msg: OFMessage, extra: Record<string, unknown> | undefined, pretty: boolean): string {
  const o = extra ? { ...toJSON(msg), ...extra } : toJSON(msg);
  return `${JSON.stringify(o, null, pretty ? 2 : undefined)}\n`;
}

/** The error text without its leading "CODE at byte N: ", which `ofp` prints in stream terms. */
function detail(e: OFDecodeError): string {
  return e.message.replace(/^\S+ at byte \d+: /, '');
}

/** Decodes one framed message; a decode error is reported at its offset in the whole stream. */
function decodeAt(raw: Buffer, streamOffset: number, label: string): OFMessage {
  try {
    return decode(raw);
  } catch (e) {
    if (e instanceof OFDecodeError) {
      throw new InputError(e.code, `${label}byte ${streamOffset + e.offset} (offset ${e.offset} in the message at byte ${streamOffset})`,
        `${detail(e)}; a switch would answer ${e.ofpError.type}/${e.ofpError.code}`);
    }
    throw e;
  }
}

/** A framer that remembers where each message starts in the stream, for error offsets. */
class Session {
  private readonly framer = new OFFramer();
  private consumed = 0;
  constructor(private readonly label: string) {}

  /** The messages this chunk completes, decoded one by one (so those before a bad one still come out). */
  *push(chunk: Buffer): Generator<{ msg: OFMessage; offset: number }> {
    let raws: Buffer[];
    try {
      raws = this.framer.push(chunk);
    } catch (e) {
      if (e instanceof OFDecodeError) throw new InputError(e.code, `${this.label}byte ${e.offset}`, detail(e));
      throw e;
    }
    for (const raw of raws) {
      const offset = this.consumed;
      this.consumed += raw.length;
      yield { msg: decodeAt(raw, offset, this.label), offset };
    }
  }

  /**
   * At end of input: a bad header the framer deferred (it came after whole messages, which have
   * been printed) is an error. Returns the bytes of a message that never completed.
   */
  end(): number {
    try {
      return this.framer.end();
    } catch (e) {
      if (e instanceof OFDecodeError) throw new InputError(e.code, `${this.label}byte ${e.offset}`, detail(e));
      throw e;
    }
  }

  /** At end of input: bytes of a message that never completed are an error. */
  endStrict(): void {
    const left = this.end();
    if (left > 0) {
      throw new InputError('OF_TRUNCATED', `${this.label}byte ${this.consumed}`,
        `input ends inside a message: ${left} bytes of it arrived`);
    }
  }
}

/** Hex text -> bytes, line by line; a bad character is reported by line and column. */
function hexLine(line: string, lineNo: number, carry: { nibble: string }): Buffer {
  // Comments end the line; a 0x prefix on a group and , or : separators are tolerated.
  const text = line.replace(/(#|\/\/).*$/, '').replace(/(^|[\s,:])0[xX]/g, '$1  ');
  let digits = carry.nibble;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (/[0-9a-fA-F]/.test(c)) digits += c;
    else if (!/[\s,:]/.test(c)) throw new InputError('HEX_BAD_CHAR', `line ${lineNo} column ${i + 1}`, `'${c}' is not a hex digit`);
  }
  carry.nibble = digits.length % 2 ? digits.slice(-1) : '';
  return Buffer.from(digits.slice(0, digits.length - carry.nibble.length), 'hex');
}

async function decodeCommand(args: string[], out: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      hex: { type: 'boolean', default: false },
      pcap: { type: 'boolean', default: false },
      port: { type: 'string', multiple: true },
      strict: { type: 'boolean', default: false },
      pretty: { type: 'boolean', default: false },
      json: { type: 'boolean', default: true },
    },
  });
  if (positionals.length > 1) throw new UsageError(`decode takes one input, got ${positionals.length}`);
  if (values.hex && values.pcap) throw new UsageError('--hex and --pcap exclude each other');
  if (values.port && !values.pcap) throw new UsageError('--port only applies to --pcap');
  if (values.strict && !values.pcap) throw new UsageError('--strict only applies to --pcap (other input is always strict)');
  const file = positionals[0];
  const pretty = values.pretty;

  if (values.pcap) {
    let ports: Set<number> | null = new Set([6653, 6633]);
    if (values.port) {
      const list = values.port.flatMap((p) => p.split(','));
      if (list.includes('any')) ports = null;
      else {
        ports = new Set(list.map((p) => {
          const n = Number(p);
          if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--port ${p}: expected a TCP port (1-65535) or 'any'`);
          return n;
        }));
      }
    }
    const sessions = new Map<TcpStream, Session>();
    const lines: string[] = [];
    let streams: TcpStream[];
    try {
      streams = reassemble(readAll(file), ports, ({ stream, time, data }) => {
        let s = sessions.get(stream);
        if (!s) {
          s = new Session(`${stream.src} -> ${stream.dst}, stream `);
          sessions.set(stream, s);
        }
        for (const chunk of data) {
          for (const { msg } of s.push(chunk)) {
            lines.push(json(msg, { _capture: { time: new Date(time * 1000).toISOString(), src: stream.src, dst: stream.dst } }, pretty));
          }
        }
      });
    } catch (e) {
      if (e instanceof PcapError) throw new InputError(e.code, `capture byte ${e.offset}`, e.detail);
      if (e instanceof InputError) {
        await out(lines.join(''));
        throw e;
      }
      throw e;
    }
    await out(lines.join(''));
    for (const st of streams) {
      if (st.broken) throw new InputError('PCAP_SNAPLEN', `${st.src} -> ${st.dst}`, st.broken);
      if (st.stranded > 0) {
        throw new InputError('PCAP_TCP_GAP', `${st.src} -> ${st.dst}, stream byte ${st.delivered}`,
          `${st.stranded} bytes arrived after a segment that is missing from the capture`);
      }
      const s = sessions.get(st);
      if (!s) continue;
      if (values.strict) s.endStrict();
      else {
        const left = s.end();
        if (left > 0) {
          console.error(`ofp decode: warning: ${st.src} -> ${st.dst} ends inside a message: ${left} bytes of it arrived `
            + `(at stream byte ${st.delivered - left}); the connection closed or the capture stopped mid-message (--strict makes this an error)`);
        }
      }
    }
    if (sessions.size === 0) {
      console.error(`ofp decode: no TCP payload on port ${ports ? [...ports].join(' or ') : 'any'} in the capture; give the OpenFlow port with --port`);
    }
    return 0;
  }

  const session = new Session('');
  const input = openInput(file);
  if (values.hex) {
    const carry = { nibble: '' };
    let lineNo = 0;
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      lineNo++;
      for (const { msg } of session.push(hexLine(line, lineNo, carry))) await out(json(msg, undefined, pretty));
    }
    if (carry.nibble) throw new InputError('HEX_ODD', `line ${lineNo}`, 'an odd number of hex digits');
  } else {
    for await (const chunk of input) {
      for (const { msg } of session.push(chunk as Buffer)) await out(json(msg, undefined, pretty));
    }
  }
  session.endStrict();
  return 0;
}

async function encodeCommand(args: string[], stdout: Out): Promise<number> {
  const { values, positionals } = parseArgs({
    args, allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      hex: { type: 'boolean', default: false },
    },
  });
  if (positionals.length > 1) throw new UsageError(`encode takes one input, got ${positionals.length}`);
  if (!values.hex && values.output === undefined && process.stdout.isTTY) {
    throw new UsageError('refusing to write binary to a terminal: give -o FILE, --hex, or redirect the output');
  }
  const chunks: Buffer[] = [];
  let lineNo = 0;
  const input = openInput(positionals[0]);
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    const text = line.trim();
    if (text === '' || text.startsWith('#') || text.startsWith('//')) continue;
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      throw new InputError('JSON_SYNTAX', `line ${lineNo}`, (e as Error).message);
    }
    if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
      throw new InputError('JSON_NOT_MESSAGE', `line ${lineNo}`, 'expected a JSON object with a "type" field');
    }
    // decode --pcap adds where a message was seen; it is not part of the message.
    delete (obj as Record<string, unknown>)._capture;
    let bytes: Buffer;
    try {
      bytes = encode(fromJSON(obj));
    } catch (e) {
      if (e instanceof OFEncodeError || e instanceof TypeError || e instanceof SyntaxError || e instanceof RangeError) {
        if (e instanceof OFEncodeError) throw new InputError(e.code, `line ${lineNo}`, e.message.slice(e.code.length + 2));
        throw new InputError('OF_BAD_VALUE', `line ${lineNo}`, e.message);
      }
      throw e;
    }
    if (values.hex) await stdout(`${bytes.toString('hex')}\n`);
    else if (values.output !== undefined) chunks.push(bytes);
    else await stdout(bytes);
  }
  if (values.output !== undefined) writeFileSync(values.output, Buffer.concat(chunks));
  return 0;
}

/** Runs `ofp` with argv (without node and script); resolves to the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const out = writer(process.stdout);
  try {
    switch (command) {
      case 'decode': return await decodeCommand(rest, out);
      case 'encode': return await encodeCommand(rest, out);
      case undefined:
        console.error(USAGE);
        return 2;
      case '-h':
      case '--help':
      case 'help':
        console.log(USAGE);
        return 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof InputError) {
      console.error(`ofp ${command}: ${e.code} at ${e.where}: ${e.message}`);
      return 1;
    }
    if (e instanceof UsageError || (e instanceof Error && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) {
      console.error(`ofp: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof Error && (e as { code?: string }).code === 'ENOENT') {
      console.error(`ofp ${command}: ${e.message}`);
      return 2;
    }
    throw e;
  }
}
