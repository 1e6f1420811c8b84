// The JSON-LD dump as a JavaScript application reads it: plain JSON first, then jsonld.js.
// Run by tests/test_jsonld.py with TIPKG_DIST set to a build (dist/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import jsonld from "jsonld";

const dist = process.env.TIPKG_DIST;
const dump = JSON.parse(readFileSync(join(dist, "tipkg.jsonld"), "utf8"));
const manifest = JSON.parse(readFileSync(join(dist, "manifest.json"), "utf8"));
const nodes = dump["@graph"];
const byId = (id) => nodes.filter((node) => node["@id"] === id);

test("typed values are native JSON, read without string checks", () => {
  const [meeting] = byId("event:tipcom-2021");
  assert.equal(meeting.ordinal[0], 1);
  assert.equal(typeof meeting.ordinal[0], "number");
  assert.deepEqual(meeting.startDate, ["2021-05-06"]);
  const committee = byId("tiporg:tipcom").find((node) => "membersListedExhaustively" in node);
  assert.equal(committee.membersListedExhaustively[0], false);
  assert.ok(meeting["@type"].includes("Meeting"));
});

test("every key holds an array on every node: one shape per key", () => {
  for (const node of nodes) {
    for (const [key, value] of Object.entries(node)) {
      if (key === "@id") continue;
      assert.ok(Array.isArray(value), `${node["@id"]} ${key}`);
    }
  }
});

test("no key is a raw prefixed IRI where a short name fits", () => {
  const keys = new Set(nodes.flatMap((node) => Object.keys(node)));
  assert.ok(keys.has("isoAlpha2Code"));
  assert.ok(!keys.has("wdt:P297"));
});

test("jsonld.js reads it as the statements the build counted, offline", async () => {
  const documentLoader = (url) => {
    throw new Error(`no network: the context is inline, not ${url}`);
  };
  const nquads = await jsonld.toRDF(dump, { format: "application/n-quads", documentLoader });
  const statements = new Set(nquads.split("\n").filter((line) => line.trim()));
  assert.equal(statements.size, manifest.triples);
  const expanded = await jsonld.expand(dump, { documentLoader });
  const ordinal = "https://w3id.org/tipkg/ontology#ordinal";
  const meeting = expanded.find((n) => n["@id"] === "https://w3id.org/tipkg/id/event/tipcom-2021" && n[ordinal]);
  assert.deepEqual(meeting[ordinal], [
    { "@value": 1, "@type": "http://www.w3.org/2001/XMLSchema#positiveInteger" },
  ]);
});
