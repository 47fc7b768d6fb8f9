import express from 'express';
import request from 'supertest';
import { multiAuth } from '../lib/chain/multi-auth';
import { appWith, oneTokenVerifier } from './support/app';

// Set per Jest project in jest.config.js: 5 for the default project, 4 for `express4`, whose
// moduleNameMapper points `express` at the `express4` alias. This file proves the mapping took.
declare const EXPECTED_EXPRESS_MAJOR: number;

/** The major version of the Express copy that `require('express')` gives this project. */
function loadedExpressMajor(): number {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { version } = require('express/package.json') as { version: string };
  return Number(version.split('.')[0]);
}

describe(`the Express this project runs on (Express ${EXPECTED_EXPRESS_MAJOR})`, () => {
  it('is the major version the project names', () => {
    expect(loadedExpressMajor()).toBe(EXPECTED_EXPRESS_MAJOR);
  });

  it("is the copy the library's Router comes from", () => {
    const auth = multiAuth({ verifiers: oneTokenVerifier('only', 'good-token') });
    // Express 4 routers have `express.Router` itself as prototype; Express 5 routers (the
    // `router` package) are instances of it. Either way, a router made by another copy of
    // Express would fail both.
    const madeByThisExpress = Object.getPrototypeOf(auth) === express.Router || auth instanceof express.Router;
    expect(madeByThisExpress).toBe(true);
  });

  it('parses query strings the way that major version does', async () => {
    // Express 4's default query parser is "extended" (qs), Express 5's is "simple": a behaviour
    // the app observes, so the HTTP tests really ran on the version named above.
    const app = express();
    app.get('/q', (req, res) => {
      res.json(req.query);
    });
    const res = await request(app).get('/q?a[b]=1');
    expect(res.body).toEqual(EXPECTED_EXPRESS_MAJOR === 4 ? { a: { b: '1' } } : { 'a[b]': '1' });
  });

  it('serves a request through multiAuth and reports the accepting source', async () => {
    const res = await request(appWith(multiAuth({ verifiers: oneTokenVerifier('only', 'good-token') })))
      .get('/echo')
      .set('Authorization', 'Bearer good-token');
    expect(res.status).toBe(200);
    expect(res.body.source).toBe('only');
  });
});
