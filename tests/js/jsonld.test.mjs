// The JSON-LD dump and the server's resource documents as a JavaScript application reads them:
// plain JSON first, then jsonld.js. Run by tests/test_jsonld.py with TIPKG_DIST set to a build
// (dist/), TIPKG_SERVER to a server of it on 127.0.0.1 (its URL is also its base IRI), and
// TIPKG_OUT to a folder for the N-Quads jsonld.js reads from the documents, which the Python side
// compares with the server's Turtle.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import jsonld from "jsonld";

const dist = process.env.TIPKG_DIST;
const server = process.env.TIPKG_SERVER;
const out = process.env.TIPKG_OUT;
// Documents a test reads, by the file name of their N-Quads in TIPKG_OUT.
const RESOURCES = { "tipcom-2021": "id/event/tipcom-2021", tipcom: "id/org/tipcom" };
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

// A resource document as a browser or Node program gets it: the IRI, Accept: JSON-LD, the 303
// followed.
async function resourceDocument(path) {
  const response = await fetch(server + path, { headers: { Accept: "application/ld+json" } });
  assert.equal(response.status, 200);
  assert.equal(response.url, `${server}${path}.jsonld`);
  return response.json();
}

const noNetwork = (url) => {
  throw new Error(`no network: the context is embedded, not ${url}`);
};

test("a resource document has short keys and native values, read without string checks", async () => {
  const document = await resourceDocument(RESOURCES["tipcom-2021"]);
  const node = (id) => document["@graph"].find((n) => n["@id"] === id);
  const meeting = node("event:tipcom-2021");
  assert.equal(meeting.ordinal[0], 1);
  assert.equal(typeof meeting.ordinal[0], "number");
  assert.deepEqual(meeting.startDate, ["2021-05-06"]);
  assert.ok(meeting["@type"].includes("Meeting"));
  assert.deepEqual(meeting.convenedBy, ["tiporg:tipcom"]);
  const itself = node("event:tipcom-2021.jsonld");
  assert.deepEqual(itself.primaryTopic, ["event:tipcom-2021"]);
  assert.deepEqual(itself.inDataset, [`${server}dataset`]);
  assert.deepEqual(itself.license, ["https://creativecommons.org/licenses/by/4.0/"]);

  const committee = (await resourceDocument(RESOURCES.tipcom))["@graph"].find(
    (n) => n["@id"] === "tiporg:tipcom",
  );
  assert.equal(committee.membersListedExhaustively[0], false);
  assert.equal(committee.topicsListedExhaustively[0], false);
});

test("jsonld.js reads each resource document offline, for the Python side to compare", async () => {
  for (const [name, path] of Object.entries(RESOURCES)) {
    const document = await resourceDocument(path);
    const nquads = await jsonld.toRDF(document, {
      format: "application/n-quads",
      documentLoader: noNetwork,
    });
    writeFileSync(join(out, `${name}.nq`), nquads);
  }
});
