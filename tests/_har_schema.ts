// HAR 1.2 validation with the npm `har-schema` JSON Schemas and Ajv: the
// errors found, none for a valid archive.
import harSchemas from "har-schema";
import { Ajv } from "ajv";
import draft6 from "ajv/dist/refs/json-schema-draft-06.json" with {
  type: "json",
};

const ajv = new Ajv({
  // The schemas use keywords of their own ("optional", "min").
  strict: false,
  allErrors: true,
});
// The formats the schemas name, defined here rather than by a plugin.
ajv.addFormat("date-time", (text: string) => !Number.isNaN(Date.parse(text)));
ajv.addFormat("uri", (text: string) => URL.canParse(text));
ajv.addFormat("ipv4", /^(\d{1,3})(\.\d{1,3}){3}$/);
ajv.addFormat("ipv6", /^\[?[\da-f]*:[\da-f:.]*\]?$/i);
ajv.addMetaSchema(draft6);
for (const schema of Object.values(harSchemas as Record<string, object>)) {
  ajv.addSchema(schema);
}
const validate = ajv.getSchema("har.json#")!;

export function harErrors(har: unknown): string[] {
  if (validate(har)) return [];
  return (validate.errors ?? []).map((e) =>
    `${e.instancePath || "/"} ${e.message}`
  );
}
