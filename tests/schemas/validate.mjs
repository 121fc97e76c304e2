// Validates custom resources whose schemas ship only as npm packages (Argo CD, External Secrets).
// Reads a JSON array of objects on stdin; prints a JSON array of error strings ("" when valid).
const MODELS = {
  "argoproj.io/v1alpha1/Application": "@kubernetes-models/argo-cd/argoproj.io/v1alpha1",
  "external-secrets.io/v1/ExternalSecret": "@kubernetes-models/external-secrets/external-secrets.io/v1",
  "external-secrets.io/v1/SecretStore": "@kubernetes-models/external-secrets/external-secrets.io/v1",
  "external-secrets.io/v1beta1/ExternalSecret": "@kubernetes-models/external-secrets/external-secrets.io/v1beta1",
  "external-secrets.io/v1beta1/SecretStore": "@kubernetes-models/external-secrets/external-secrets.io/v1beta1",
};

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", async () => {
  const results = [];
  for (const obj of JSON.parse(input)) {
    const module = MODELS[`${obj.apiVersion}/${obj.kind}`];
    if (!module) {
      results.push(`no schema for ${obj.apiVersion} ${obj.kind}`);
      continue;
    }
    const Model = (await import(module))[obj.kind];
    try {
      new Model(obj).validate();
      results.push("");
    } catch (error) {
      results.push(String(error.message || error));
    }
  }
  process.stdout.write(JSON.stringify(results));
});
