/**
 * @module views/settings
 * The Settings page: appearance (theme, also saved to the person's preferences), their profile, preferences,
 * password and second factors (for a person signed in; an API token has no profile), and the node's effective
 * configuration with secrets redacted (sessions with `config:admin`).
 */
import { useQuery } from "@tanstack/react-query";
import { useCan, useClient, useSession } from "../../app/session";
import { Page } from "../../components/Page";
import { ErrorNotice } from "../../components/ErrorNotice";
import { AppearancePanel } from "./AppearancePanel";
import { PasswordPanel, ProfilePanel } from "./ProfilePanel";
import { SecurityPanel } from "./SecurityPanel";
import { ConfigPanel } from "./ConfigPanel";

export default function SettingsPage() {
  const client = useClient();
  const { state } = useSession();
  const configAdmin = useCan("config:admin");
  const person = state.status === "signed-in" && state.me.user !== undefined && state.me.user.kind === "person";
  const profile = useQuery({ queryKey: ["settings", "me"], queryFn: () => client.me.get(), enabled: person });
  return (
    <Page title="Settings">
      <AppearancePanel person={person} profile={profile.data} />
      <ErrorNotice error={profile.error} />
      {profile.data && (
        <>
          <ProfilePanel profile={profile.data} />
          <PasswordPanel />
          <SecurityPanel />
        </>
      )}
      {configAdmin && <ConfigPanel />}
    </Page>
  );
}
