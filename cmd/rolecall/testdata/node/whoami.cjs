// The AWS SDK for JavaScript v3 as a consumer of rolecall's credentials:
// calls STS GetCallerIdentity and prints the caller's ARN.
//
//   node whoami.cjs chain [PROFILE]  the SDK's default chain (environment,
//                                    AWS_PROFILE, the shared files, ...), for
//                                    PROFILE when given (fromNodeProviderChain)
//   node whoami.cjs process PROFILE  fromProcess: the profile's credential_process
//   node whoami.cjs ini PROFILE      fromIni: the profile as the shared files say
//
// The endpoint comes from AWS_ENDPOINT_URL_STS, which the SDK reads itself
// (the service-specific endpoint setting); the script passes no endpoint.
// CommonJS, not an ES module: require() honours NODE_PATH, which points at
// the packages scripts/node-deps.sh installed.
"use strict";
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { fromIni, fromNodeProviderChain, fromProcess } = require("@aws-sdk/credential-providers");

const [mode, profile] = process.argv.slice(2);
const providers = {
  chain: () => (profile ? fromNodeProviderChain({ profile }) : undefined),
  process: () => fromProcess({ profile }),
  ini: () => fromIni({ profile }),
};
if (!providers[mode] || (mode !== "chain" && !profile)) {
  console.error("usage: node whoami.cjs chain [PROFILE] | process PROFILE | ini PROFILE");
  process.exit(2);
}
if (!process.env.AWS_ENDPOINT_URL_STS) {
  console.error("whoami.cjs: AWS_ENDPOINT_URL_STS is not set: refusing to call the real STS");
  process.exit(2);
}

const client = new STSClient({ region: process.env.AWS_REGION || "us-east-1", credentials: providers[mode]() });
client.send(new GetCallerIdentityCommand({})).then(
  (out) => console.log(out.Arn),
  (err) => {
    // The name and message only: an SDK error can carry the request.
    console.error(`whoami.cjs: ${err.name}: ${err.message}`);
    process.exit(1);
  },
);
