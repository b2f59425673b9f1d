import { ProviderDefinition } from "../../components/provider";
import { check } from "../../components/validate/schema";

/** Settings as a user gets them: the provider's own defaults, then overrides. */
export function settingsWith<Settings>(
  definition: ProviderDefinition<any, Settings>,
  over: Partial<Settings> = {},
): Settings {
  const defaults = check({}, definition.settings, `providers.${definition.contract}`, []);
  return { ...(defaults as Settings), ...over };
}
