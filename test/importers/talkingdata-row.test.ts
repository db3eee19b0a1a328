import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { AppError } from '../../src/errors.ts';
import {
  parseTalkingDataLine,
  readTalkingDataHeader,
} from '../../src/importers/talkingdata-row.ts';

const header = readTalkingDataHeader(
  'ip,app,device,os,channel,click_time,attributed_time,is_attributed',
);

describe('readTalkingDataHeader', () => {
  it('finds the columns by name, in any order', () => {
    const reordered = readTalkingDataHeader(
      'app,ip,device,os,channel,click_time,is_attributed,attributed_time',
    );
    const click = parseTalkingDataLine('12,87540,1,13,497,2017-11-07 09:30:38,0,', reordered);

    assert.ok(typeof click !== 'string');
    assert.equal(click.app, '12');
    assert.equal(click.ip, '87540');
  });

  it('fails the import when a column is missing, naming it', () => {
    assert.throws(
      () => readTalkingDataHeader('ip,app,device,os,click_time,attributed_time,is_attributed'),
      (error: unknown) => error instanceof AppError && /lacks channel/.test(error.message),
    );
  });
});

describe('parseTalkingDataLine', () => {
  it('reads a click and its install time as UTC instants', () => {
    const text = '224120,19,0,29,213,2017-11-08 02:22:13,2017-11-08 02:22:38,1';
    const click = parseTalkingDataLine(text, header);

    assert.deepEqual(click, {
      ip: '224120',
      app: '19',
      device: '0',
      os: '29',
      channel: '213',
      clickedAt: new Date('2017-11-08T02:22:13Z'),
      attributedAt: new Date('2017-11-08T02:22:38Z'),
    });
  });

  it('gives the reason a line cannot be used', () => {
    const reasons = [
      ['87540,12,1,13,497,2017-11-07 09:30:38,', 'expected 8 columns, found 7'],
      ['87540,12,1,13,497,2017-11-31 09:30:38,,0', /click_time "2017-11-31 09:30:38"/],
      [
        '87540,12,1,13,497,2017-11-07 09:30:38,,1',
        'is_attributed is 1 but attributed_time is empty',
      ],
      ['87540,12,1,13,497,2017-11-07 09:30:38,yesterday,1', /attributed_time "yesterday"/],
      ['87540,12,1,13,497,2017-11-07 09:30:38,,2', 'is_attributed "2" is neither 0 nor 1'],
      ['87540,x12,1,13,497,2017-11-07 09:30:38,,0', 'app "x12" is not a whole number'],
      ['', 'empty line'],
      [
        '87540,12,1,13,497,1899-12-31 23:59:59,,0',
        'click_time "1899-12-31 23:59:59" is not between 1900-01-01 and 2999-12-31 (UTC)',
      ],
      [
        '87540,12,1,13,497,2999-12-31 09:30:38,3000-01-01 00:00:00,1',
        'attributed_time "3000-01-01 00:00:00" is not between 1900-01-01 and 2999-12-31 (UTC)',
      ],
    ] as const;

    for (const [text, expected] of reasons) {
      const reason = parseTalkingDataLine(text, header);
      if (typeof expected === 'string') assert.equal(reason, expected, text);
      else assert.match(reason as string, expected, text);
    }
  });
});
