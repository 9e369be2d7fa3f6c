import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { takeTokenFromFragment } from './auth';
import './styles.css';

takeTokenFromFragment();
createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);
