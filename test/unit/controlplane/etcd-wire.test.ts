import { strict as assert } from "node:assert";
import { dirname, join } from "node:path";
import * as protobuf from "protobufjs";
import * as wire from "../../../lib/controlplane/etcd-wire";
import { GrpcError, MessageReader, frame } from "../../../lib/controlplane/grpc-h2";

const root = protobuf.loadSync(join(dirname(require.resolve("etcd3/package.json")), "proto", "rpc.proto"));
const T = (name: string) => root.lookupType(`etcdserverpb.${name}`);
/** A request as etcd reads it (int64 as decimal strings). */
const decode = (name: string, b: Uint8Array) => T(name).toObject(T(name).decode(b), { longs: String });
const hex = (h: string) => Buffer.from(h.replace(/\s/g, ""), "hex");

describe("etcd-wire: the agent's etcd messages by hand", () => {
  describe("requests, as etcd's rpc.proto reads them (protobufjs)", () => {
    it("Range of one key and of a prefix, Put, DeleteRange", () => {
      const range = decode("RangeRequest", wire.encodeRange("/computers/n1/desired"));
      assert.equal(Buffer.from(range.key).toString(), "/computers/n1/desired");
      assert.equal(range.rangeEnd, undefined); // proto3 leaves an empty field out
      const prefix = decode("RangeRequest", wire.encodeRange("/a/", Buffer.from("/a0")));
      assert.equal(Buffer.from(prefix.rangeEnd).toString(), "/a0");
      const put = decode("PutRequest", wire.encodePut("/k", "vé"));
      assert.deepEqual([Buffer.from(put.key).toString(), Buffer.from(put.value).toString()], ["/k", "vé"]);
      const del = decode("DeleteRangeRequest", wire.encodeDeleteRange("/k"));
      assert.equal(Buffer.from(del.key).toString(), "/k");
    });

    it("Watch create (key, range end, start revision)", () => {
      const create = decode(
        "WatchRequest",
        wire.encodeWatchCreate("/r/", Buffer.from("/r0"), 9007199254740993n),
      );
      assert.equal(Buffer.from(create.createRequest.key).toString(), "/r/");
      assert.equal(Buffer.from(create.createRequest.rangeEnd).toString(), "/r0");
      assert.equal(create.createRequest.startRevision.toString(), "9007199254740993");
    });
  });

  describe("responses, as etcd's rpc.proto writes them (protobufjs)", () => {
    it("a RangeResponse: revision, every key-value, more and count", () => {
      const msg = T("RangeResponse")
        .encode({
          header: { revision: 77, clusterId: "18446744073709551615" },
          kvs: [
            {
              key: Buffer.from("/a"),
              value: Buffer.from("1"),
              modRevision: 5,
              createRevision: 2,
              version: 3,
            },
            { key: Buffer.from("/b"), value: Buffer.from(""), modRevision: "9223372036854775807" },
          ],
          more: true,
          count: 2,
        })
        .finish();
      assert.deepEqual(wire.decodeRangeResponse(msg), {
        revision: "77",
        kvs: [
          { key: "/a", value: "1", modRevision: "5" },
          { key: "/b", value: "", modRevision: "9223372036854775807" },
        ],
        more: true,
        count: "2",
      });
    });

    it("a WatchResponse: created, canceled with its reason and compact revision, put and delete events", () => {
      const msg = T("WatchResponse")
        .encode({
          header: { revision: 12 },
          watchId: 3,
          created: true,
          canceled: true,
          compactRevision: 4,
          cancelReason: "etcdserver: mvcc: required revision has been compacted",
          events: [
            { type: 0, kv: { key: Buffer.from("/d"), value: Buffer.from("{}"), modRevision: 11 } },
            { type: 1, kv: { key: Buffer.from("/d"), modRevision: 12 }, prevKv: { key: Buffer.from("/d") } },
          ],
        })
        .finish();
      assert.deepEqual(wire.decodeWatchResponse(msg), {
        revision: "12",
        watchId: "3",
        created: true,
        canceled: true,
        compactRevision: "4",
        cancelReason: "etcdserver: mvcc: required revision has been compacted",
        events: [
          { type: "put", kv: { key: "/d", value: "{}", modRevision: "11" } },
          { type: "delete", kv: { key: "/d", value: "", modRevision: "12" } },
        ],
      });
    });

    it("skips unknown fields of every wire type, as protobuf readers do", () => {
      // field 15 varint, field 16 fixed64, field 17 bytes, field 18 fixed32, then more=true
      const msg = hex("7801 8101 0102030405060708 8a01 02 ffff 9501 01020304 1801");
      assert.equal(wire.decodeRangeResponse(msg).more, true);
    });
  });

  describe("refuses malformed responses with a WireError before reading past them", () => {
    const cases: [string, string][] = [
      ["a varint of 11 bytes", "20 ffffffffffffffffffff01"],
      ["a varint cut by the end", "20 ff"],
      ["a length past the end", "12 05 0a01"],
      ["a length of 2^63 (no allocation)", "12 ffffffffffffffff7f"],
      ["a group (wire type 3)", "1b 1c"],
      ["wire type 6", "1e"],
      ["wire type 7", "1f"],
      ["field number 0", "00 01"],
      ["a known field with another wire type (kvs as a varint)", "10 01"],
      ["a fixed64 cut by the end", "81 01 0102"],
      ["a bool in a 7-byte varint", "18 ffffffffffff01"],
      ["a length in a 7-byte varint (value 0)", "12 80808080808000"],
      ["a tag in a 6-byte varint", "98 8080808000 01"],
      ["a key-value cut in its key", "12 04 0a05 2f61"],
    ];
    for (const [name, h] of cases)
      it(`RangeResponse: ${name}`, () =>
        assert.throws(() => wire.decodeRangeResponse(hex(h)), wire.WireError));
    it("WatchResponse: an event type etcd does not define", () =>
      assert.throws(() => wire.decodeWatchResponse(hex("5a 02 0802")), /event type 2/));
    it("WatchResponse: a malformed prev_kv, although it is never used", () =>
      assert.throws(() => wire.decodeWatchResponse(hex("5a 03 1a01 1f")), wire.WireError));
  });

  describe("gRPC message framing (MessageReader)", () => {
    it("reads messages split across chunks and several in one chunk", () => {
      const r = new MessageReader(100);
      const all = Buffer.concat([
        frame(Buffer.from("one")),
        frame(Buffer.from("")),
        frame(Buffer.from("three")),
      ]);
      const got = [
        ...r.push(all.subarray(0, 4)),
        ...r.push(all.subarray(4, 14)),
        ...r.push(all.subarray(14)),
      ];
      assert.deepEqual(got.map(String), ["one", "", "three"]);
      assert.equal(r.pending(), 0);
    });

    it("refuses a message longer than its bound from the 5-byte prefix, before buffering it", () => {
      const r = new MessageReader(1024);
      assert.throws(
        () => r.push(hex("00 ffffffff")),
        (e: unknown) => e instanceof GrpcError && /4294967295 bytes \(at most 1024\)/.test(e.message),
      );
    });

    it("refuses a compressed message (compression is never asked for)", () => {
      assert.throws(() => new MessageReader(1024).push(hex("01 00000001 00")), /compressed/);
    });

    it("counts an unfinished message as pending (the stream ended inside it)", () => {
      const r = new MessageReader(1024);
      assert.deepEqual(r.push(hex("00 00000004 6162")), []);
      assert.equal(r.pending(), 7);
    });
  });
});
