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
