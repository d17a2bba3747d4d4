export { RootCa, rootCaProvider, rootCaOptions, type RootCaArgs } from "./rootCa";
export { IssuingCa, issuingCaProvider, type IssuingCaArgs } from "./issuingCa";
export {
  Certificate,
  certificateProvider,
  type CertificateArgs,
  type CertificateSigner,
} from "./certificate";
