// The group form → suggestion-service's body. Pure — unit-tested.

export interface GroupForm {
  emails: string;
  tz: string;
  from: string;
  days: number;
  duration: number;
  /** Empty: everyone. */
  minAttendees: string;
  /** Members unticked as required. */
  optional: string[];
  asJob: boolean;
}

/** Emails split on commas, semicolons, white space; trimmed, lower-cased, duplicates dropped. */
export function parseEmails(text: string): string[] {
  const seen = new Set<string>();
  for (const raw of text.split(/[\s,;]+/)) {
    const e = raw.trim().toLowerCase();
    if (e) seen.add(e);
  }
  return [...seen];
}

export function suggestionBody(f: GroupForm) {
  const users = parseEmails(f.emails);
  const body: Record<string, unknown> = { users, from: f.from, days: f.days, tz: f.tz, duration: f.duration, count: 5 };
  const quorum = f.minAttendees.trim() ? Number(f.minAttendees) : null;
  if (quorum !== null) body.min_attendees = quorum;
  const optional = new Set(f.optional);
  // Everyone is required unless some are unticked or a quorum is set: then
  // exactly the ticked ones (the API's default with a quorum is nobody).
  // Unticked without a quorum: the ticked ones suffice (the API's quorum
  // default is everyone, which would undo the unticking).
  if (optional.size > 0 || quorum !== null) {
    const required = users.filter((u) => !optional.has(u));
    body.required = required;
    if (quorum === null) body.min_attendees = Math.max(1, required.length);
  }
  return body;
}

// ---- The answer in words (SPEC §10): who comes only if need be, who keeps
// the best times off the list, and the smallest change when nothing fits.

/** Names, then how many more the caller may not see: "a@x, b@x and 2 you may not see". */
export function people(names: string[], hidden = 0): string {
  const list = names.join(', ');
  if (!hidden) return list || 'nobody';
  return `${list}${list ? ' and ' : ''}${hidden} you may not see`;
}

export interface Attending {
  attendees: string[];
  hidden_attendees?: number;
  if_need_be?: string[];
  hidden_if_need_be?: number;
}

/** A suggestion's attendees, each one free only if need be marked so: "ann@x.io, bob@x.io (if need be)". */
export function attendeeWords(s: Attending): string {
  const maybe = new Set(s.if_need_be ?? []);
  const named = s.attendees.map((a) => (maybe.has(a) ? `${a} (if need be)` : a));
  const hidden = s.hidden_attendees ?? 0;
  const hiddenMaybe = Math.min(hidden, s.hidden_if_need_be ?? 0);
  return people(named, hidden) + (hiddenMaybe ? ` (${hiddenMaybe} of them only if need be)` : '');
}

export interface Blocker {
  email: string;
  best_slots_missed: number;
}

export interface SmallestChange {
  people: { users: string[]; hidden?: number; start: string; end: string } | null;
  duration: number | null;
  min_attendees: number | null;
  /** The fewest days from the first day that would hold a meeting. */
  days?: number | null;
}

export interface Explained {
  blockers?: Blocker[];
  hidden_blockers?: number;
  smallest_change?: SmallestChange | null;
}

/** "a", "a and b", "a, b and c". */
function and(items: string[]): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/**
 * Who keeps the best times (those the most people can make) off the list:
 * one line per required person missing from them, most missed first, as
 * the API orders them; people the caller may not see are counted.
 */
export function blockerLines(a: Explained): string[] {
  const lines = (a.blockers ?? []).map(
    (b) => `${b.email} keeps the best times off the list (not free for ${b.best_slots_missed} of them)`,
  );
  const hidden = a.hidden_blockers ?? 0;
  if (hidden) lines.push(`${hidden} ${hidden === 1 ? 'person' : 'people'} you may not see ${hidden === 1 ? 'keeps' : 'keep'} them off too`);
  return lines;
}

/**
 * The smallest changes that would give a meeting, one line per kind the API
 * found, the later ones starting with "or"; times through `format` (the
 * page's viewing zone). Empty when there is no smallest change (something
 * fits); one line saying so when no single change would do.
 */
export function changeLines(a: Explained, format: (start: string, end: string) => string): string[] {
  const c = a.smallest_change;
  if (!c) return [];
  const lines: string[] = [];
  if (c.people) {
    const hidden = c.people.hidden ?? 0;
    const who = [...c.people.users];
    if (hidden) who.push(`${hidden} ${hidden === 1 ? 'person' : 'people'} you may not see`);
    lines.push(`If ${and(who)} could make ${format(c.people.start, c.people.end)}, that time would fit`);
  }
  if (c.duration !== null && c.duration !== undefined) lines.push(`shorten the meeting to ${c.duration} minutes`);
  if (c.min_attendees !== null && c.min_attendees !== undefined)
    lines.push(`accept ${c.min_attendees} ${c.min_attendees === 1 ? 'attendee' : 'attendees'} (a smaller quorum)`);
  if (c.days !== null && c.days !== undefined) lines.push(`look ${c.days} ${c.days === 1 ? 'day' : 'days'} ahead`);
  if (lines.length === 0) return ['No single change of people, length, quorum or days would make a time fit'];
  return lines.map((l, i) => (i === 0 ? l[0].toUpperCase() + l.slice(1) : `or ${l}`));
}
