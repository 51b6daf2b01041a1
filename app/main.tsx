import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.tsx';
import { loadUserSettings } from './settings.ts';
import './styles.css';

// The saved settings (a quick IndexedDB read) decide which model loads, so they are read before the first render.
const user = await loadUserSettings();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App initialUser={user} />
  </StrictMode>,
);
