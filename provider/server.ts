/**
 * The plugin's gRPC server: Pulumi's ResourceProvider service (the SDK's generated definition,
 * `@pulumi/pulumi/proto/provider_grpc_pb`) over the provider object of provider.ts.
 *
 * Why not the SDK's `provider.main`: in 3.248 its server drops what the engine sends beyond the
 * stored outputs — `old_inputs` of Diff, Update and Delete, the `inputs` of Read, and the
 * provider configuration of Configure (it answers Configure without reading it). Without old
 * inputs a resource's outputs must repeat every input (twice the state); without configuration
 * the platform's root must sit in every resource's inputs, and `pulumi import` (a Read with the id
 * and nothing else) cannot work for any resource. This server passes all of it on.
 */
import { dirname } from "node:path";
import type * as grpcTypes from "@grpc/grpc-js";
import * as pb from "@pulumi/pulumi/proto/provider_pb";
import * as rpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import * as plugin from "@pulumi/pulumi/proto/plugin_pb";
import type * as emptyTypes from "google-protobuf/google/protobuf/empty_pb";
import type * as structTypes from "google-protobuf/google/protobuf/struct_pb";
import type { ZerorootProvider } from "./provider";

// The SDK's own copies of grpc-js and google-protobuf, so the generated classes' types match.
const sdkDir = dirname(require.resolve("@pulumi/pulumi/package.json"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fromSdk = <T>(id: string): T => require(require.resolve(id, { paths: [sdkDir] })) as T;
const grpc = fromSdk<typeof grpcTypes>("@grpc/grpc-js");
const { Struct } = fromSdk<typeof structTypes>("google-protobuf/google/protobuf/struct_pb");
const { Empty } = fromSdk<typeof emptyTypes>("google-protobuf/google/protobuf/empty_pb");

type Props = Record<string, unknown>;
type Call<Req> = { request: Req };
type Callback<Res> = (err: grpcTypes.ServiceError | null, res?: Res) => void;

const js = (s: structTypes.Struct | undefined): Props => (s ? (s.toJavaScript() as Props) : {});
const struct = (v: Props) =>
  Struct.fromJavaScript(JSON.parse(JSON.stringify(v)) as Parameters<typeof Struct.fromJavaScript>[0]);

/** A handler error as the engine shows it: the message only (user mistakes carry no stack trace). */
function failed(e: unknown): grpcTypes.ServiceError {
  const message = e instanceof Error ? e.message : String(e);
  return Object.assign(new Error(message), {
    code: grpc.status.UNKNOWN,
    details: message,
    metadata: new grpc.Metadata(),
  });
}

function unary<Req, Res>(fn: (req: Req) => Promise<Res>) {
  return (call: Call<Req>, cb: Callback<Res>) => {
    fn(call.request).then(
      (res) => cb(null, res),
      (e: unknown) => cb(failed(e)),
    );
  };
}

/** Provider configuration: the explicit provider's inputs (`args`), else the stack's `zeroroot:*` keys. */
export function configOf(req: pb.ConfigureRequest): Props {
  const args = js(req.getArgs());
  if (Object.keys(args).length > 0) return args;
  const out: Props = {};
  for (const [k, v] of req.getVariablesMap().entries()) {
    const key = String(k).replace(/^zeroroot:(config:)?/, "");
    try {
      out[key] = JSON.parse(String(v)) as unknown;
    } catch {
      out[key] = String(v);
    }
  }
  return out;
}

export function serviceOf(p: ZerorootProvider) {
  return {
    getPluginInfo: unary<unknown, plugin.PluginInfo>(async () =>
      new plugin.PluginInfo().setVersion(p.version),
    ),
    getSchema: unary<pb.GetSchemaRequest, pb.GetSchemaResponse>(async () =>
      new pb.GetSchemaResponse().setSchema(p.schema),
    ),
    attach: unary<unknown, emptyTypes.Empty>(async () => new Empty()),
    cancel: unary<unknown, emptyTypes.Empty>(async () => new Empty()),
    checkConfig: unary<pb.CheckRequest, pb.CheckResponse>(async (req) => {
      const r = p.checkConfig(js(req.getNews()));
      return new pb.CheckResponse()
        .setInputs(struct(r.inputs))
        .setFailuresList(
          r.failures.map((f) => new pb.CheckFailure().setProperty(f.property).setReason(f.reason)),
        );
    }),
    // A configuration change never replaces the provider: that would replace every resource it serves.
    diffConfig: unary<pb.DiffRequest, pb.DiffResponse>(async (req) => {
      const same = JSON.stringify(js(req.getOlds())) === JSON.stringify(js(req.getNews()));
      return new pb.DiffResponse().setChanges(
        same ? pb.DiffResponse.DiffChanges.DIFF_NONE : pb.DiffResponse.DiffChanges.DIFF_SOME,
      );
    }),
    configure: unary<pb.ConfigureRequest, pb.ConfigureResponse>(async (req) => {
      p.configure(configOf(req));
      return new pb.ConfigureResponse()
        .setAcceptsecrets(true)
        .setAcceptresources(true)
        .setAcceptoutputs(false);
    }),
    check: unary<pb.CheckRequest, pb.CheckResponse>(async (req) => {
      const r = await p.check(req.getUrn(), js(req.getOlds()), js(req.getNews()));
      return new pb.CheckResponse()
        .setInputs(struct(r.inputs))
        .setFailuresList(
          r.failures.map((f) => new pb.CheckFailure().setProperty(f.property).setReason(f.reason)),
        );
    }),
    diff: unary<pb.DiffRequest, pb.DiffResponse>(async (req) => {
      const d = await p.diff(
        req.getId(),
        req.getUrn(),
        js(req.getOlds()),
        js(req.getNews()),
        js(req.getOldInputs()),
      );
      return new pb.DiffResponse()
        .setChanges(d.changes ? pb.DiffResponse.DiffChanges.DIFF_SOME : pb.DiffResponse.DiffChanges.DIFF_NONE)
        .setReplacesList(d.replaces)
        .setDiffsList(d.diffs)
        .setDeletebeforereplace(d.deleteBeforeReplace);
    }),
    create: unary<pb.CreateRequest, pb.CreateResponse>(async (req) => {
      const r = await p.create(req.getUrn(), js(req.getProperties()));
      return new pb.CreateResponse().setId(r.id).setProperties(struct(r.outs));
    }),
    read: unary<pb.ReadRequest, pb.ReadResponse>(async (req) => {
      const r = await p.read(req.getId(), req.getUrn(), js(req.getProperties()), js(req.getInputs()));
      return new pb.ReadResponse().setId(r.id).setProperties(struct(r.props)).setInputs(struct(r.inputs));
    }),
    update: unary<pb.UpdateRequest, pb.UpdateResponse>(async (req) => {
      const outs = await p.update(
        req.getId(),
        req.getUrn(),
        js(req.getOlds()),
        js(req.getNews()),
        js(req.getOldInputs()),
      );
      return new pb.UpdateResponse().setProperties(struct(outs));
    }),
    delete: unary<pb.DeleteRequest, emptyTypes.Empty>(async (req) => {
      await p.delete(req.getId(), req.getUrn(), js(req.getProperties()), js(req.getOldInputs()));
      return new Empty();
    }),
  };
}

/** Serves `p` on 127.0.0.1 and prints the port on stdout, as the engine expects of a plugin. */
export async function serve(p: ZerorootProvider): Promise<void> {
  const server = new grpc.Server({ "grpc.max_receive_message_length": 400 * 1024 * 1024 });
  server.addService(
    rpc.ResourceProviderService as unknown as grpcTypes.ServiceDefinition,
    serviceOf(p) as unknown as grpcTypes.UntypedServiceImplementation,
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, n) =>
      err ? reject(err) : resolve(n),
    ),
  );
  process.stdout.write(`${port}\n`);
}
