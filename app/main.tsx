import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { loadLastModel, saveLastModel, type ModelChoice } from './model-choice.ts';
import { DEFAULT_MODEL_PATH, loadUserSettings, modelUrlOf, saveUserSettings } from './settings.ts';
import './styles.css';

// The saved settings and the model that loaded last (quick IndexedDB reads) decide which model loads, so they are
// read before the first render. Settings saved by an older version kept the model URL: it moves to the last model.
let [user, initialModel] = await Promise.all([loadUserSettings(), loadLastModel()]);
if (user.model !== DEFAULT_MODEL_PATH) {
  const moved: ModelChoice = { kind: 'url', url: modelUrlOf(user.model, location.href), weights: user.weights };
  initialModel ??= moved;
  user = { ...user, model: DEFAULT_MODEL_PATH };
  await Promise.all([saveLastModel(initialModel), saveUserSettings(user)]).catch((error) => console.warn('Could not move the saved model URL', error));
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App initialUser={user} initialModel={initialModel} />
  </StrictMode>,
);
