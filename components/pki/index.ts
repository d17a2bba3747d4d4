export { RootCa, ROOT_CA_TYPE, rootCaOptions, type RootCaArgs } from "./rootCa";
export { IssuingCa, ISSUING_CA_TYPE, type IssuingCaArgs } from "./issuingCa";
export { Certificate, CERTIFICATE_TYPE, type CertificateArgs, type CertificateSigner } from "./certificate";
