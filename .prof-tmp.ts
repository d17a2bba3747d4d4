import * as pki from "./lib/pki";
const root = pki.createRootCa({ commonName: "bench root CA" });
const caKey = pki.generateKeyPair();
const caCsr = pki.createCsr({ commonName: "dc1.bench.example issuing CA" }, caKey.privateKey);
const caCert = pki.issueFromCsr(root.ca, "issuing", caCsr, { nameScope: { dnsZones: ["dc1.bench.example"], ipNetworks: ["10.0.0.0/8"] } });
const ca = pki.loadCa(caCert.certificatePem, pki.exportPkcs8(caKey.privateKey));
const csrs = Array.from({ length: 100 }, (_, i) => pki.createCsr({ commonName: `svc-${i}.dc1.bench.example`, dnsNames: [`svc-${i}.dc1.bench.example`], ipAddresses: [`10.1.0.${i + 1}`] }, pki.generateKeyPair().privateKey));
for (let i = 0; i < 20000; i++) pki.issueFromCsr(ca, "service", csrs[i % 100]);
