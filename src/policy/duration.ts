import { z } from 'zod';

const units = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** A duration as `90s`, `15m`, `1h`, `2d`, `1h30m` or a number of seconds; parsed to whole seconds. */
export const durationSchema = z
  .union([z.number().int().positive(), z.string().regex(/^([1-9]\d*|(\d+[smhd])+)$/, 'expected a duration such as 15m, 1h, 600s or 600')])
  .transform((value) => {
    if (typeof value === 'number') return value;
    // Environment variables are strings: a bare number is seconds there too.
    if (/^[1-9]\d*$/.test(value)) return Number(value);
    let seconds = 0;
    for (const [, amount, unit] of value.matchAll(/(\d+)([smhd])/g)) {
      seconds += Number(amount) * units[unit as keyof typeof units];
    }
    return seconds;
  })
  .meta({ description: 'A duration: 90s, 15m, 1h, 2d, 1h30m, or whole seconds' });
