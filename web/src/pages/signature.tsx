// Where the identity provider sends the browser back during an e-signature: the challenge now has the
// re-authentication factor; complete the action that was waiting for it.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api } from '../api';
import type { Route } from '../router';
import { navigate } from '../router';
import { isSatisfied, loadPending, type Challenge } from '../sign';
import { Async, Button, ErrorBox, Notice, Page, useAsync } from '../ui';

export function SignaturePage(props: { route: Route }): JSX.Element {
  const id = props.route.path[1] ?? '';
  const pending = loadPending(id);
  const state = useAsync(() => api.get<Challenge>(`/api/v1/signatures/challenges/${id}`), [id]);
  const [done, setDone] = useState(false);
  return (
    <Page title="Complete your signature">
      {!pending && (
        <ErrorBox error="This browser has no signature waiting for this challenge. Start again from the record." />
      )}
      <Async state={state} what="the challenge">
        {(ch) =>
          done ? (
            <Notice kind="ok">Signed.</Notice>
          ) : ch.consumed_at ? (
            <Notice>This challenge was already used by a signature.</Notice>
          ) : !isSatisfied(ch) ? (
            <ErrorBox error="The challenge still needs a factor. Start the signature again." />
          ) : pending ? (
            <>
              <p>{pending.description}</p>
              <Button
                kind="primary"
                testId="sign-complete"
                onClick={async () => {
                  await api.post(pending.action.url, pending.action.body);
                  window.sessionStorage.removeItem(`axiom.sign.${id}`);
                  setDone(true);
                  navigate(pending.returnTo);
                }}
              >
                Sign ({ch.meaning})
              </Button>
            </>
          ) : null
        }
      </Async>
    </Page>
  );
}
