// The page of the browser test: it calls grpc.testing.TestService on the
// server that served it, through connect-web (gRPC-Web, binary) and
// through grpc-web's runtime (gRPC-Web, text), and posts what it saw to
// /report, where the Go test compares it with what it expects.
import { createFileRegistry, create, toBinary, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { createClient, ConnectError } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { GrpcWebClientBase, MethodDescriptor, MethodType } from "grpc-web";

const cfg = JSON.parse(document.getElementById("config").textContent);
const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, base64Decode(cfg.descriptors)));
const TestService = registry.getService("grpc.testing.TestService");
const SimpleRequest = registry.getMessage("grpc.testing.SimpleRequest");
const SimpleResponse = registry.getMessage("grpc.testing.SimpleResponse");
const StreamingOutputCallRequest = registry.getMessage("grpc.testing.StreamingOutputCallRequest");
const StreamingOutputCallResponse = registry.getMessage("grpc.testing.StreamingOutputCallResponse");
const EchoStatus = registry.getMessage("grpc.testing.EchoStatus");

const echoMD = { "x-grpc-test-echo-initial": "hello-web", "x-grpc-test-echo-trailing-bin": "AQID" };
const streamRequest = (intervalUs) => ({ responseParameters: [1, 2, 3].map((size) => ({ size, intervalUs })) });
const errorRequest = { responseStatus: { code: 3, message: "with details" } };

async function connectCases(out) {
  const client = createClient(TestService, createGrpcWebTransport({ baseUrl: cfg.baseUrl, useBinaryFormat: true }));
  let header, trailer;
  const r = await client.unaryCall({ responseSize: 5 }, {
    headers: echoMD,
    onHeader: (h) => (header = h),
    onTrailer: (t) => (trailer = t),
  });
  out.unary = String(r.payload.body.length);
  out.header = header.get("x-grpc-test-echo-initial");
  out.trailer = trailer.get("x-grpc-test-echo-trailing-bin");
  const sizes = [];
  for await (const m of client.streamingOutputCall(streamRequest(0))) {
    sizes.push(m.payload.body.length);
  }
  out.stream = sizes.join(",");
  try {
    await client.unaryCall(errorRequest);
    out.error = "no error";
  } catch (e) {
    const err = ConnectError.from(e);
    const details = err.findDetails(EchoStatus).map((d) => `${d.code}:${d.message}`);
    out.error = `${err.code} ${err.rawMessage} [${details.join(" ")}]`;
  }
  try {
    for await (const m of client.streamingOutputCall(streamRequest(2000000), { timeoutMs: 300 })) {
      void m;
    }
    out.deadline = "no error";
  } catch (e) {
    out.deadline = String(ConnectError.from(e).code);
  }
}

function descriptor(path, type, req, resp) {
  return new MethodDescriptor(path, type, Object, Object,
    (m) => toBinary(req, create(req, m)),
    (b) => fromBinary(resp, b));
}

function grpcWebCases(out) {
  const client = new GrpcWebClientBase({ format: "text" });
  const url = (m) => cfg.baseUrl + "/grpc.testing.TestService/" + m;
  const unary = descriptor("/grpc.testing.TestService/UnaryCall", MethodType.UNARY, SimpleRequest, SimpleResponse);
  const streaming = descriptor("/grpc.testing.TestService/StreamingOutputCall", MethodType.SERVER_STREAMING,
    StreamingOutputCallRequest, StreamingOutputCallResponse);
  const call = (req, md) => new Promise((resolve) => {
    const got = {};
    client.rpcCall(url("UnaryCall"), req, md, unary, (err, resp) => {
      got.err = err;
      got.resp = resp;
      if (got.status || err) resolve(got);
    }).on("metadata", (m) => (got.header = m)).on("status", (s) => {
      got.status = s;
      if ("resp" in got) resolve(got);
    });
  });
  const stream = (req, md) => new Promise((resolve) => {
    const sizes = [];
    client.serverStreaming(url("StreamingOutputCall"), req, md, streaming)
      .on("data", (m) => sizes.push(m.payload.body.length))
      .on("error", (e) => resolve({ sizes, err: e }))
      .on("end", () => resolve({ sizes }));
  });
  return (async () => {
    const u = await call({ responseSize: 5 }, echoMD);
    if (u.err) throw new Error(`grpc-web unary: ${u.err.code} ${u.err.message}`);
    out.unary = String(u.resp.payload.body.length);
    out.header = u.header["x-grpc-test-echo-initial"];
    out.trailer = u.status.metadata["x-grpc-test-echo-trailing-bin"];
    const s = await stream(streamRequest(0), {});
    out.stream = s.err ? `error ${s.err.code}` : s.sizes.join(",");
    const e = await call(errorRequest, {});
    out.error = e.err ? `${e.err.code} ${e.err.message}` : "no error";
    out.errorDetails = e.err ? (e.err.metadata || {})["grpc-status-details-bin"] || "" : "";
    const d = await stream(streamRequest(2000000), { deadline: String(Date.now() + 300) });
    out.deadline = d.err ? String(d.err.code) : "no error";
  })();
}

async function main() {
  const results = { connect: {}, grpcweb: {} };
  try {
    await connectCases(results.connect);
    await grpcWebCases(results.grpcweb);
  } catch (e) {
    results.fatal = String(e && e.stack || e);
  }
  await fetch("/report", { method: "POST", body: JSON.stringify(results) });
}

main();
