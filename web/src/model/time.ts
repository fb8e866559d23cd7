// Wall-clock reading of instants in an IANA zone, with the browser's own
// tz database (Intl): no library, nothing fetched.

export interface LocalParts {
  /** YYYY-MM-DD in the zone. */
  date: string;
  /** Minutes since local midnight. */
  minutes: number;
  /** 0 = Monday … 6 = Sunday. */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** A zone the browser knows, else UTC (a zone is checked with `isZone` where a person types it). */
function known(tz: string): string {
  return isZone(tz) ? tz : 'UTC';
}

function partsFormatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** Short weekday names, Monday first (LocalParts.weekday indexes them). */
export const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export function localParts(instant: Date, tz: string): LocalParts {
  const p: Record<string, string> = {};
  for (const part of partsFormatter(known(tz)).formatToParts(instant)) p[part.type] = part.value;
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    minutes: Number(p.hour) * 60 + Number(p.minute),
    weekday: WEEKDAYS.indexOf(p.weekday),
  };
}

/** Whether the browser knows the zone. */
export function isZone(tz: string): boolean {
  try {
    partsFormatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Every zone the browser knows, the given ones first when missing from it. */
export function zones(...extra: string[]): string[] {
  const known: string[] =
    typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : ['UTC'];
  const all = new Set([...extra.filter(Boolean), 'UTC', ...known]);
  return [...all];
}

export function browserZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
}

/** "Mon 3 Mar, 10:00–11:00" in the zone. */
export function formatRange(start: string, end: string, zone: string): string {
  const tz = known(zone);
  const day = new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' });
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const s = new Date(start);
  const e = new Date(end);
  const sameDay = localParts(s, tz).date === localParts(e, tz).date;
  return sameDay
    ? `${day.format(s)}, ${time.format(s)}–${time.format(e)}`
    : `${day.format(s)}, ${time.format(s)} – ${day.format(e)}, ${time.format(e)}`;
}

/** The first Monday on or after today, as YYYY-MM-DD in the zone. */
export function nextMonday(tz: string, now = new Date()): string {
  const today = localParts(now, tz);
  const [y, m, d] = today.date.split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + ((7 - today.weekday) % 7)));
  return date.toISOString().slice(0, 10);
}

/** YYYY-MM-DD plus n days. */
export function addDays(date: string, n: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + n)).toISOString().slice(0, 10);
}
